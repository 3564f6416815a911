package io.textspark.testing;

import io.textspark.model.BertClassifier;
import io.textspark.model.BertConfig;
import io.textspark.model.Safetensors;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A model folder with a tiny random BERT encoder (2 layers, hidden 32) and MiniLM's real tokenizer:
 * CoLA tokenized for MiniLM trains on it in milliseconds per step, which keeps multi-worker and
 * cluster tests fast while they run the real data path.
 */
public final class TinyBert {
  /** The architecture: MiniLM's vocabulary and positions, a much smaller encoder. */
  public static final BertConfig CONFIG = new BertConfig(32, 2, 2, 64, "gelu", 0.1, 0.1, 512, 2, 30522, 1e-12, 0,
      0.02, BertConfig.DEFAULT_LABELS);

  private TinyBert() {}

  /** Writes {@code config.json}, {@code tokenizer.json} (MiniLM's) and {@code model.safetensors} into {@code dir}. */
  public static Path write(Path dir, long seed) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), CONFIG.toJson(), StandardCharsets.UTF_8);
    Files.copy(Shared.miniLm().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    try (OutputStream out = Files.newOutputStream(dir.resolve("model.safetensors"))) {
      Safetensors.write(out, encoderWeights(seed), Map.of("format", "pt"));
    }
    return dir;
  }

  /** Seeded random encoder weights without pooler and classifier, as a pretrained encoder comes. */
  public static Map<String, Safetensors.Tensor> encoderWeights(long seed) {
    Map<String, Safetensors.Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : BertClassifier.parameterShapes(CONFIG).entrySet()) {
      String name = e.getKey();
      if (name.startsWith("classifier.") || name.startsWith("bert.pooler.")) {
        continue;
      }
      long n = 1;
      for (long d : e.getValue()) {
        n *= d;
      }
      float[] v = new float[(int) n];
      Random r = new Random(seed * 31 + name.hashCode());
      for (int i = 0; i < v.length; i++) {
        v[i] = name.endsWith("LayerNorm.weight") ? 1f : name.endsWith("bias") ? 0f : (float) (0.05 * r.nextGaussian());
      }
      out.put(name, Safetensors.Tensor.ofFloats(e.getValue(), v));
    }
    return out;
  }
}
