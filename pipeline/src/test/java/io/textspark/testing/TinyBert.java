package io.textspark.testing;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.model.bert.BertClassifier;
import io.textspark.model.bert.BertConfig;
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
 * A model folder with a tiny random BERT (2 layers, hidden 32) and the real MiniLM tokenizer: the
 * tokenizer's 30522 word pieces make it a drop-in for {@code model.name} on CoLA, and the tiny
 * encoder makes a training step take milliseconds. The weights are seeded, so two folders written
 * with the same seed are identical.
 */
public final class TinyBert {
  /** The architecture: MiniLM's vocabulary and positions, everything else as small as it goes. */
  public static final BertConfig CONFIG = new BertConfig(32, 2, 2, 64, "gelu", 0.1, 0.1, 512, 2, 30522, 1e-12, 0,
      0.02, BertConfig.DEFAULT_LABELS);

  private TinyBert() {}

  /** Same as {@link #writeFolder}. */
  public static Path write(Path dir, long seed) throws IOException {
    return writeFolder(dir, seed);
  }

  /** Writes {@code config.json}, {@code tokenizer.json} and {@code model.safetensors} into {@code dir}. */
  public static Path writeFolder(Path dir, long seed) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(CheckpointLayout.CONFIG), CONFIG.toJson(), StandardCharsets.UTF_8);
    Files.copy(Shared.miniLm().resolve(CheckpointLayout.TOKENIZER), dir.resolve(CheckpointLayout.TOKENIZER));
    try (OutputStream out = Files.newOutputStream(dir.resolve(CheckpointLayout.WEIGHTS))) {
      Safetensors.write(out, encoderWeights(seed), Map.of("format", "pt"));
    }
    return dir;
  }

  /**
   * Writes a model folder like {@link #writeFolder} whose {@code config.json} says {@code
   * model_type = modelType}, as a model of another family (gpt2, t5...) would.
   */
  public static Path writeFolderOfModelType(Path dir, long seed, String modelType) throws IOException {
    writeFolder(dir, seed);
    Path config = dir.resolve(CheckpointLayout.CONFIG);
    JsonObject o = JsonParser.parseString(Files.readString(config, StandardCharsets.UTF_8)).getAsJsonObject();
    o.addProperty("model_type", modelType);
    Files.writeString(config, o.toString(), StandardCharsets.UTF_8);
    return dir;
  }

  /** Seeded random encoder weights (no pooler or head, which the classifier initialises itself). */
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
