package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.batch.Examples;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.Collective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import io.textspark.model.HfConfig;
import io.textspark.testing.Reference;
import io.textspark.testing.TinyFamilies;
import io.textspark.testing.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every non-BERT family end to end on a tiny random checkpoint: training learns a token task (rows
 * padded with the family's pad id), checkpoints carry the family's Hugging Face names and config,
 * and {@code predict} on a checkpoint gives what the model computes on the text alone.
 */
class FamilyTrainingTest {
  private static final Configuration CONF = new Configuration();

  @TempDir Path tmp;

  /** n rows [bos, 3 to 12 tokens in [5, 40), eos]; label 1 when token 4 occurs. */
  private static Examples task(int n, long seed, int bos, int eos) {
    Random r = new Random(seed);
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
      label[i] = i % 2;
      domain[i] = i % 3 == 0 ? "out" : "in";
      int len = 3 + r.nextInt(10);
      int[] row = new int[len + 2];
      row[0] = bos;
      row[len + 1] = eos;
      for (int t = 1; t <= len; t++) {
        row[t] = 5 + r.nextInt(35);
      }
      if (label[i] == 1) {
        row[1 + r.nextInt(len)] = 4;
      }
      ids[i] = row;
    }
    return Examples.of(idx, label, domain, ids);
  }

  private static TrainConfig cfg() {
    return TextSparkConfig.load(List.of(), List.of("train.batch_size=16", "train.lr=3e-3", "train.epochs=6",
        "train.bucket_batches=2", "train.log_every_steps=1000", "train.threads=1", "train.seed=7",
        "train.dropout=0")).train();
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void trainsCheckpointsAndPredicts(String family) throws IOException {
    HfConfig config = TinyFamilies.parsed(family, "{}");
    // The first and last special tokens: <s> </s> (pad 1), [CLS] [SEP] of the Unigram and the WordPiece vocabularies.
    int[] specials = switch (family) {
      case "roberta" -> new int[] {0, 2};
      case "deberta-v2" -> new int[] {1, 2};
      default -> new int[] {101, 102};
    };
    int bos = specials[0];
    int eos = specials[1];
    Path run = tmp.resolve("run");
    TrainInputs inputs = new TrainInputs(task(96, 1, bos, eos), task(48, 2, bos, eos), config,
        TinyFamilies.weights(config, 3, false, true), TinyFamilies.tokenizer(family), "tiny-" + family, "{}",
        new org.apache.hadoop.fs.Path(run.toUri()), CONF);
    Trainer.Summary s = Trainer.fit(cfg(), inputs, Collective.single(), List.of());
    assertTrue(s.lastMetrics().get("val/accuracy") >= 0.8, family + " learned: " + s.lastMetrics());

    Checkpoint best = new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()), CONF)
        .last().orElseThrow();
    Path folder = Path.of(best.path().toUri());
    JsonObject written = JsonParser.parseString(Files.readString(folder.resolve("config.json"))).getAsJsonObject();
    assertEquals(family, written.get("model_type").getAsString());
    assertEquals(0.0, written.get(family.equals("distilbert") ? "dropout" : "hidden_dropout_prob").getAsDouble());
    Map<String, float[]> weights = Weights.of(best);
    assertEquals(TinyFamilies.shapes(config).keySet(), weights.keySet(), "the family's Hugging Face names");

    List<String> texts = List.of("the cat sat on the mat.", "a dog ran.", "the students sent a book.");
    try (Predictor predictor = Predictor.load(folder.toString(), TextSparkConfig.withOverrides().model(),
            new InferenceSettings(32, 2, "cpu", 1), CONF);
        io.textspark.inference.ScoringModel alone = Reference.load(folder)) {
      Prediction[] predictions = predictor.predict(texts);
      assertEquals(texts.size(), predictions.length);
      for (int i = 0; i < texts.size(); i++) {
        double[] expected = Reference.probabilities(alone, texts.get(i), 32);
        assertEquals(expected[0], predictions[i].probability(0), 1e-5, texts.get(i));
        assertEquals(expected[1], predictions[i].probability(1), 1e-5, texts.get(i));
      }
    }
  }
}
