package io.textspark.testing;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointFile;
import io.textspark.checkpoint.CheckpointMetadata;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.config.TextSparkConfig;
import io.textspark.model.bert.BertClassifier;
import io.textspark.model.bert.BertConfig;
import io.textspark.model.Safetensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;

/**
 * A small fixed classifier for scoring tests: a 2-layer BERT with hidden size 32 over the real
 * bert-base-uncased vocabulary, so it uses the mirrored MiniLM {@code tokenizer.json}, with seeded
 * random weights. It is written as a committed checkpoint, exactly as training writes one.
 */
public final class TinyModel {
  /** The architecture: 2 layers, hidden 32, 2 heads, 128 positions, CoLA labels. */
  public static final BertConfig CONFIG = new BertConfig(32, 2, 2, 64, "gelu", 0.1, 0.1, 128, 2, 30522, 1e-12, 0,
      0.02, BertConfig.DEFAULT_LABELS);

  private TinyModel() {}

  /**
   * Seeded random weights for every tensor, head included: normal(0, 1) for the encoder, so the
   * [CLS] vector varies a lot between sentences, narrower for the pooler and the classifier, and a
   * zero classifier bias. Such a model (seed 41, for example) calls a large share of CoLA's
   * validation sentences acceptable and the rest unacceptable, so agreement checks are not trivial.
   */
  public static Map<String, Safetensors.Tensor> weights(long seed) {
    Map<String, Safetensors.Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : BertClassifier.parameterShapes(CONFIG).entrySet()) {
      String name = e.getKey();
      long[] shape = e.getValue();
      int n = Math.toIntExact(count(shape));
      float[] v = new float[n];
      Random r = new Random(seed * 1_000_003L + name.hashCode());
      double std = name.equals("classifier.bias") ? 0 : name.startsWith("classifier.") ? 0.5
          : name.startsWith("bert.pooler.") ? 0.3 : name.contains("LayerNorm.") ? 0.02 : 1.0;
      for (int i = 0; i < n; i++) {
        v[i] = (name.endsWith("LayerNorm.weight") ? 1f : 0f) + (float) (std * r.nextGaussian());
      }
      out.put(name, Safetensors.Tensor.ofFloats(shape, v));
    }
    return out;
  }

  /**
   * The weights of {@link #weights} with a head that ignores the text: classifier weights zero and
   * biases (0, ln 3), so every text gets P(unacceptable) = 1/4 and P(acceptable) = 3/4 exactly.
   */
  public static Map<String, Safetensors.Tensor> constantHead(long seed) {
    Map<String, Safetensors.Tensor> out = weights(seed);
    out.put("classifier.weight", Safetensors.Tensor.ofFloats(new long[] {2, 32}, new float[64]));
    out.put("classifier.bias", Safetensors.Tensor.ofFloats(new long[] {2}, new float[] {0f, (float) Math.log(3)}));
    return out;
  }

  /** A committed checkpoint of {@link #weights}{@code (seed)} under {@code runDir/checkpoints}. */
  public static Path checkpoint(Path runDir, long seed) {
    return checkpoint(runDir, weights(seed));
  }

  /**
   * Writes {@code weights} with {@link #CONFIG}, the MiniLM tokenizer and a {@code trainer_state.json}
   * recording the default configuration (so {@code tokenize.max_length} 128) as the committed
   * checkpoint {@code epoch=1-step=1} with {@code val/mcc} 0.5; returns its folder.
   */
  public static Path checkpoint(Path runDir, Map<String, Safetensors.Tensor> weights) {
    byte[] tokenizer;
    try {
      tokenizer = Files.readAllBytes(Shared.miniLm().resolve("tokenizer.json"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    JsonObject state = new JsonObject();
    state.addProperty("epoch", 1);
    state.addProperty("global_step", 1);
    state.add("config", JsonParser.parseString(TextSparkConfig.withOverrides().renderedJson()));
    CheckpointStore store = new CheckpointStore(
        new org.apache.hadoop.fs.Path(runDir.resolve("checkpoints").toUri()), new Configuration());
    Checkpoint c = store.write("epoch=1-step=1", CheckpointMetadata.of(1, 1, Map.of("val/mcc", 0.5)), List.of(
        CheckpointFile.of("model.safetensors", out -> Safetensors.write(out, weights, Map.of("format", "pt"))),
        CheckpointFile.ofBytes("config.json", CONFIG.toJson().getBytes(StandardCharsets.UTF_8)),
        CheckpointFile.ofBytes("tokenizer.json", tokenizer),
        CheckpointFile.ofJson("trainer_state.json", state)));
    return Path.of(c.path().toUri());
  }

  private static long count(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
