package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.batch.Examples;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.Collective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.model.bert.BertClassifier;
import io.textspark.model.bert.BertConfig;
import io.textspark.model.Safetensors;
import io.textspark.testing.Files2;
import io.textspark.testing.Weights;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer on a tiny random BERT (2 layers, hidden 32, vocabulary 50) and a task it can learn:
 * label 1 when token 7 occurs in the row. Fast enough to train several times per test.
 */
class TrainerTest {
  static final BertConfig TINY = new BertConfig(32, 2, 2, 64, "gelu", 0.1, 0.1, 64, 2, 50, 1e-12, 0, 0.02,
      BertConfig.DEFAULT_LABELS);
  private static final Configuration CONF = new Configuration();

  @TempDir Path tmp;

  /** Random encoder weights (no head), seeded; LayerNorms start as identity. */
  static Map<String, Safetensors.Tensor> tinyWeights(long seed) {
    Map<String, Safetensors.Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : BertClassifier.parameterShapes(TINY).entrySet()) {
      String name = e.getKey();
      if (name.startsWith("classifier.") || name.startsWith("bert.pooler.")) {
        continue;
      }
      long[] shape = e.getValue();
      int n = 1;
      for (long d : shape) {
        n *= (int) d;
      }
      float[] v = new float[n];
      Random r = new Random(seed * 31 + name.hashCode());
      for (int i = 0; i < n; i++) {
        v[i] = name.endsWith("LayerNorm.weight") ? 1f : name.endsWith("bias") ? 0f : (float) (0.05 * r.nextGaussian());
      }
      out.put(name, Safetensors.Tensor.ofFloats(shape, v));
    }
    return out;
  }

  /** n rows of 3 to 12 random tokens in [8, 50); half of them (label 1) contain token 7. */
  static Examples task(int n, long seed) {
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
      row[0] = 1;
      row[len + 1] = 2;
      for (int t = 1; t <= len; t++) {
        row[t] = 8 + r.nextInt(42);
      }
      if (label[i] == 1) {
        row[1 + r.nextInt(len)] = 7;
      }
      ids[i] = row;
    }
    return Examples.of(idx, label, domain, ids);
  }

  private TrainConfig cfg(String... overrides) {
    List<String> all = new ArrayList<>(List.of("train.batch_size=16", "train.lr=3e-3", "train.epochs=2",
        "train.bucket_batches=2", "train.log_every_steps=1000", "train.threads=1", "train.seed=7"));
    all.addAll(List.of(overrides));
    return TextSparkConfig.load(List.of(), all).train();
  }

  private TrainInputs inputs(Path out, Examples train, Examples validation, BertConfig config) {
    return new TrainInputs(train, validation, config, tinyWeights(3), "{}".getBytes(), "tiny", "{}",
        new org.apache.hadoop.fs.Path(out.toUri()), CONF);
  }

  private TrainInputs inputs(Path out) {
    return inputs(out, task(96, 1), task(48, 2), TINY);
  }

  private static Checkpoint last(Path run) {
    return new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()), CONF).last()
        .orElseThrow();
  }

  @Test
  void learnsTheTaskAndWritesCheckpointsLogsAndSummary() throws IOException {
    Path run = tmp.resolve("run");
    Trainer.Summary s = Trainer.fit(cfg("train.epochs=8", "train.dropout=0"), inputs(run), Collective.single(),
        List.of());
    assertTrue(s.lastMetrics().get("val/accuracy") >= 0.9, "learned: " + s.lastMetrics());
    assertTrue(s.lastMetrics().get("val/mcc") >= 0.8, "learned: " + s.lastMetrics());
    assertEquals(8 * 6, s.globalStep(), "96 rows in batches of 16: 6 steps per epoch");
    assertFalse(s.bestCheckpoint().isEmpty());
    assertTrue(s.bestMetrics().containsKey("in/mcc") && s.bestMetrics().containsKey("out/mcc"));

    List<Checkpoint> kept = new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()),
        CONF).list();
    assertTrue(kept.size() <= 2, "save_top_k=1 plus last: " + kept);
    for (String file : List.of("model.safetensors", "config.json", "tokenizer.json", "optimizer.safetensors",
        "trainer_state.json", "manifest.json")) {
      assertTrue(Files.isRegularFile(Path.of(kept.get(0).path().toUri()).resolve(file)), file);
    }
    JsonObject config = JsonParser.parseString(
        Files.readString(Path.of(kept.get(0).path().toUri()).resolve("config.json"))).getAsJsonObject();
    assertEquals("BertForSequenceClassification", config.getAsJsonArray("architectures").get(0).getAsString());
    assertEquals("bert", config.get("model_type").getAsString());
    assertEquals("acceptable", config.getAsJsonObject("id2label").get("1").getAsString());
    assertEquals(0, config.getAsJsonObject("label2id").get("unacceptable").getAsInt());
    assertEquals(0.0, config.get("hidden_dropout_prob").getAsDouble(), "train.dropout=0 is written");
    assertTrue(Files.isRegularFile(run.resolve("summary.json")));
    List<String> jsonl = Files.readAllLines(run.resolve("logs/metrics.jsonl"));
    assertEquals(8 * 6 + 8, jsonl.size(), "one line per step and per validation");
    assertTrue(Files2.tree(run.resolve("logs")).stream().anyMatch(f -> f.startsWith("events.out.tfevents.")));
  }

  @Test
  void stepsPerEpochFollowTheGlobalBatch() {
    assertEquals(6, Trainer.stepsPerEpoch(cfg(), 96));
    assertEquals(3, Trainer.stepsPerEpoch(cfg("train.accumulate=2"), 96));
    assertEquals(7, Trainer.stepsPerEpoch(cfg(), 97));
  }

  @Test
  void accumulatedMicroBatchesEqualOneLargeBatch() throws IOException {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Trainer.fit(cfg("train.batch_size=8", "train.accumulate=4", "train.dropout=0", "train.epochs=1"), inputs(a),
        Collective.single(), List.of());
    Trainer.fit(cfg("train.batch_size=32", "train.accumulate=1", "train.dropout=0", "train.epochs=1",
        "train.bucket_batches=2"), inputs(b), Collective.single(), List.of());
    double diff = Weights.maxDiff(Weights.of(last(a)), Weights.of(last(b)));
    assertTrue(diff < 1e-5, "4 x 8 accumulated vs 32 at once, max weight difference " + diff);
    assertTrue(diff >= 0);
  }

  @Test
  void resumingAfterAnEpochGivesIdenticalWeightsDropoutIncluded() throws IOException {
    Path straight = tmp.resolve("straight");
    Trainer.fit(cfg(), inputs(straight), Collective.single(), List.of());

    Path stopped = tmp.resolve("stopped");
    // Killed at step 7 (the first step of epoch 2): the newest checkpoint is the one after epoch 1.
    assertThrows(IllegalStateException.class,
        () -> Trainer.fit(cfg(), inputs(stopped), Collective.single(), List.of(new KillAt(7))));
    assertEquals(6, last(stopped).globalStep());
    Trainer.Summary resumed = Trainer.fit(cfg("train.resume_from=last"), inputs(stopped), Collective.single(),
        List.of());
    assertEquals(12, resumed.globalStep());
    assertEquals(0.0, Weights.maxDiff(Weights.of(last(straight)), Weights.of(last(stopped))), "bit-identical weights");
  }

  @Test
  void aRunPausedAtValidationsAndResumedEqualsOneStraightRun() throws IOException {
    // 6 steps per epoch, validations at steps 4 (mid-epoch), 6 (end), 8 (mid), 12 (end)
    String[] settings = {"train.val_every_steps=4"};
    Path straight = tmp.resolve("straight");
    Trainer.Summary whole = Trainer.fit(cfg(settings), inputs(straight), Collective.single(), List.of());

    Path paused = tmp.resolve("paused");
    List<String> seen = new ArrayList<>();
    for (int pauseAt : new int[] {1, 3}) {
      Trainer.Listener pause = new Trainer.Listener() {
        @Override
        public boolean pauseAfterValidation(int validations, long globalStep, Map<String, Double> metrics) {
          seen.add(validations + "@" + globalStep);
          return validations >= pauseAt;
        }
      };
      Trainer.Summary part = Trainer.fit(cfg(pauseAt == 1 ? settings : new String[] {"train.val_every_steps=4",
          "train.resume_from=last"}), inputs(paused), Collective.single(), List.of(pause));
      assertEquals(pauseAt == 1 ? 4 : 8, part.globalStep(), "paused right after validation " + pauseAt);
      assertFalse(part.stoppedEarly());
    }
    Trainer.Summary rest = Trainer.fit(cfg("train.val_every_steps=4", "train.resume_from=last"), inputs(paused),
        Collective.single(), List.of(new Trainer.Listener() {
          @Override
          public boolean pauseAfterValidation(int validations, long globalStep, Map<String, Double> metrics) {
            seen.add(validations + "@" + globalStep);
            return true; // the last validation ends the run anyway
          }
        }));
    assertEquals(List.of("1@4", "2@6", "3@8", "4@12"), seen, "every validation seen once, counted over the run");
    assertEquals(12, rest.globalStep());
    assertEquals(whole.lastMetrics(), rest.lastMetrics());
    assertEquals(0.0, Weights.maxDiff(Weights.of(last(straight)), Weights.of(last(paused))), "bit-identical weights");
  }

  @Test
  void resumingMidEpochNeitherRepeatsNorSkipsBatches() throws IOException {
    Path straight = tmp.resolve("straight");
    Trainer.fit(cfg("train.epochs=1", "train.checkpoint.every_steps=2"), inputs(straight), Collective.single(),
        List.of());
    Path killed = tmp.resolve("killed");
    assertThrows(IllegalStateException.class, () -> Trainer.fit(cfg("train.epochs=1", "train.checkpoint.every_steps=2"),
        inputs(killed), Collective.single(), List.of(new KillAt(3))));
    Checkpoint mid = last(killed);
    assertEquals(2, mid.globalStep(), "the mid-epoch checkpoint at step 2");
    List<Long> steps = new ArrayList<>();
    Trainer.Listener record = new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        steps.add(globalStep);
      }
    };
    Trainer.fit(cfg("train.epochs=1", "train.checkpoint.every_steps=2", "train.resume_from=last"), inputs(killed),
        Collective.single(), List.of(record));
    assertEquals(List.of(3L, 4L, 5L, 6L), steps, "the run continues after the checkpoint: step 3 again, then on");
    assertEquals(0.0, Weights.maxDiff(Weights.of(last(straight)), Weights.of(last(killed))));
  }

  @Test
  void earlyStoppingEndsARunThatStopsImproving() {
    Trainer.Summary s = Trainer.fit(cfg("train.epochs=6", "train.lr=1e-9", "train.early_stopping.patience=1",
        "train.early_stopping.monitor=val/loss", "train.early_stopping.mode=min",
        "train.early_stopping.min_delta=0.01"), inputs(tmp.resolve("es")), Collective.single(), List.of());
    assertTrue(s.stoppedEarly());
    assertEquals(2 * 6, s.globalStep(), "the second validation did not improve: stop after epoch 2");
  }

  /** Records the steps a run takes. */
  private static Trainer.Listener recorder(List<Long> steps) {
    return new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        steps.add(globalStep);
      }
    };
  }

  /** The learning rate the run logged for step {@code step} (the update after {@code step - 1} others). */
  private static double loggedLr(Path run, long step) throws IOException {
    for (String line : Files.readAllLines(run.resolve("logs/metrics.jsonl"))) {
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      if (o.get("split").getAsString().equals("train") && o.get("step").getAsLong() == step) {
        return o.get("train/lr").getAsDouble();
      }
    }
    throw new AssertionError("no train record for step " + step);
  }

  /** What {@code body} prints to System.out, and its result. */
  private static <T> T printed(StringBuilder into, Supplier<T> body) {
    PrintStream original = System.out;
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    System.setOut(new PrintStream(copy, true, StandardCharsets.UTF_8));
    try {
      return body.get();
    } finally {
      System.setOut(original);
      into.append(copy.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void resumingWithAHigherMaxStepsTrainsOnToTheNewHorizonOnItsSchedule() throws IOException {
    Path run = tmp.resolve("horizon");
    Trainer.Summary first = Trainer.fit(cfg("train.max_steps=10", "train.epochs=5"), inputs(run), Collective.single(),
        List.of());
    assertEquals(10, first.globalStep(), "stopped in the middle of epoch 2 (6 steps per epoch)");
    assertEquals(0.0, new LrSchedule(3e-3, 1, 10).at(10), "the old schedule had reached 0");

    List<Long> steps = new ArrayList<>();
    Trainer.Summary second = Trainer.fit(cfg("train.max_steps=16", "train.epochs=5", "train.resume_from=last"),
        inputs(run), Collective.single(), List.of(recorder(steps)));
    assertEquals(List.of(11L, 12L, 13L, 14L, 15L, 16L), steps, "on from the checkpoint to the new train.max_steps");
    assertEquals(16, second.globalStep());
    assertEquals(16, last(run).globalStep());
    // The schedule of a 16-step run: ceil(0.1 x 16) = 2 warm-up steps, then linear decay to 0 at 16.
    LrSchedule resumed = new LrSchedule(3e-3, 2, 16);
    assertEquals(resumed.at(10), loggedLr(run, 11), 1e-12, "step 11 is the update after 10 others");
    assertEquals(3e-3 * 6 / 14, loggedLr(run, 11), 1e-12);
    assertEquals(resumed.at(15), loggedLr(run, 16), 1e-12);
  }

  @Test
  void aResumeWithNothingLeftSaysWhyInOneLineAndWritesNothing() throws IOException {
    Path run = tmp.resolve("done");
    Trainer.fit(cfg("train.max_steps=4"), inputs(run), Collective.single(), List.of());
    List<String> files = Files2.tree(run);
    byte[] metrics = Files.readAllBytes(run.resolve("logs/metrics.jsonl"));
    byte[] summary = Files.readAllBytes(run.resolve("summary.json"));

    List<Long> steps = new ArrayList<>();
    StringBuilder out = new StringBuilder();
    Trainer.Summary s = printed(out, () -> Trainer.fit(cfg("train.max_steps=4", "train.resume_from=last"), inputs(run),
        Collective.single(), List.of(recorder(steps))));
    assertEquals(List.of(), steps);
    assertEquals(4, s.globalStep());
    assertEquals(last(run).path().toString(), s.bestCheckpoint(), "the summary of the run as it ended");
    assertEquals(1, out.toString().lines().count(), out.toString());
    assertTrue(out.toString().startsWith("train: nothing to do: checkpoint ")
        && out.toString().contains(" is at step 4 and train.max_steps = 4; raise train.max_steps"), out.toString());
    assertEquals(files, Files2.tree(run), "no new file");
    assertArrayEquals(metrics, Files.readAllBytes(run.resolve("logs/metrics.jsonl")));
    assertArrayEquals(summary, Files.readAllBytes(run.resolve("summary.json")));

    Path epochs = tmp.resolve("epochs");
    Trainer.fit(cfg("train.epochs=1"), inputs(epochs), Collective.single(), List.of());
    StringBuilder again = new StringBuilder();
    printed(again, () -> Trainer.fit(cfg("train.epochs=1", "train.resume_from=last"), inputs(epochs),
        Collective.single(), List.of(recorder(steps))));
    assertTrue(again.toString().contains("has completed 1 epoch(s) and train.epochs = 1; raise train.epochs"),
        again.toString());
    assertEquals(List.of(), steps);
  }

  @Test
  void anEarlyStoppedRunResumesOnlyWithMorePatience() {
    String[] es = {"train.epochs=6", "train.lr=1e-9", "train.early_stopping.monitor=val/loss",
        "train.early_stopping.mode=min", "train.early_stopping.min_delta=0.01"};
    Path run = tmp.resolve("es");
    Trainer.Summary stopped = Trainer.fit(cfg(concat(es, "train.early_stopping.patience=1")), inputs(run),
        Collective.single(), List.of());
    assertTrue(stopped.stoppedEarly());
    assertEquals(12, stopped.globalStep());

    List<Long> steps = new ArrayList<>();
    StringBuilder out = new StringBuilder();
    printed(out, () -> Trainer.fit(cfg(concat(es, "train.early_stopping.patience=1", "train.resume_from=last")),
        inputs(run), Collective.single(), List.of(recorder(steps))));
    assertEquals(List.of(), steps);
    assertTrue(out.toString().contains("was stopped early: val/loss has not improved for 1 validation(s) and"
        + " train.early_stopping.patience = 1"), out.toString());

    // Two more validations without improvement (epochs 3 and 4) reach the new patience of 3.
    Trainer.Summary more = Trainer.fit(cfg(concat(es, "train.early_stopping.patience=3", "train.resume_from=last")),
        inputs(run), Collective.single(), List.of(recorder(steps)));
    assertEquals(13, steps.get(0));
    assertEquals(24, more.globalStep());
    assertTrue(more.stoppedEarly());
  }

  private static String[] concat(String[] a, String... b) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(b));
    return all.toArray(new String[0]);
  }

  @Test
  void maxStepsStopsTheRun() {
    Trainer.Summary s = Trainer.fit(cfg("train.max_steps=4", "train.epochs=5"), inputs(tmp.resolve("max")),
        Collective.single(), List.of());
    assertEquals(4, s.globalStep());
  }

  @Test
  void fastDevRunTrainsOneBatchAndWritesNothing() {
    Path run = tmp.resolve("fdr");
    Trainer.Summary s = Trainer.fit(cfg("train.fast_dev_run=true", "train.val_batch_size=16"), inputs(run),
        Collective.single(), List.of());
    assertEquals(1, s.globalStep());
    assertEquals(16, s.lastMetrics().get("val/count"), 1e-9, "one validation batch");
    assertEquals(List.of(), Files2.tree(run));
  }

  @Test
  void refusesLabelsOutsideTheHead() {
    Examples bad = Examples.of(new int[] {0, 1}, new int[] {0, 2}, new String[] {"in", "in"},
        new int[][] {{1, 9, 2}, {1, 7, 2}});
    TextSparkException e = assertThrows(TextSparkException.class, () -> Trainer.fit(cfg(),
        inputs(tmp.resolve("bad"), bad, task(8, 2), TINY), Collective.single(), List.of()));
    assertTrue(e.getMessage().contains("label 2"), e.getMessage());
    assertEquals(List.of(), Files2.tree(tmp.resolve("bad")));
  }
}
