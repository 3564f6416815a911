package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.Collective;
import io.textspark.collective.LoopbackRing;
import io.textspark.collective.RingCollective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.testing.Files2;
import io.textspark.testing.Weights;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer with two workers in threads of this JVM, joined by a loopback ring, against single
 * workers with the same global batch: the model depends on the global batch alone, and checkpoints
 * resume with any number of workers.
 */
class MultiWorkerTrainerTest {
  private static final Configuration CONF = new Configuration();
  // 44 rows in global batches of 16: steps of 16, 16 and 12 rows, so the last one splits unevenly.
  private static final Examples TRAIN = TrainerTest.task(44, 1);
  private static final Examples VALIDATION = TrainerTest.task(20, 2);

  @TempDir Path tmp;

  private static TrainConfig cfg(String... more) {
    List<String> all = new ArrayList<>(List.of("train.lr=3e-3", "train.epochs=2", "train.bucket_batches=2",
        "train.log_every_steps=1000", "train.threads=1", "train.dropout=0", "train.seed=11"));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all).train();
  }

  private static TrainInputs inputs(Path run, Examples validation) {
    return new TrainInputs(TRAIN, validation, TrainerTest.TINY, TrainerTest.tinyWeights(3), "{}".getBytes(), "tiny",
        "{}", new org.apache.hadoop.fs.Path(run.toUri()), CONF);
  }

  /** Runs {@code cfg} with two workers on a loopback ring, each with its share of the validation set. */
  private static List<Trainer.Summary> twoWorkers(TrainConfig cfg, Path run, List<Trainer.Listener> listeners)
      throws Exception {
    List<RingCollective> ring = LoopbackRing.open(2, Duration.ofSeconds(60), RingCollective.DEFAULT_CHUNK_BYTES);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Trainer.Summary>> runs = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        int rank = r;
        runs.add(pool.submit(() -> Trainer.fit(cfg, inputs(run, TrainWorker.share(VALIDATION, rank, 2)),
            ring.get(rank), listeners)));
      }
      List<Trainer.Summary> out = new ArrayList<>();
      for (Future<Trainer.Summary> f : runs) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
      ring.forEach(RingCollective::close);
    }
  }

  private static Checkpoint last(Path run) {
    return new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()), CONF).last()
        .orElseThrow();
  }

  private static JsonObject trainerState(Checkpoint c) throws IOException {
    try (InputStream in = c.open(CheckpointLayout.TRAINER_STATE)) {
      return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
    }
  }

  @Test
  void twoWorkersOneWorkerAndAccumulationTrainTheSameModelForTheSameGlobalBatch() throws Exception {
    List<Trainer.Summary> two = twoWorkers(cfg("train.workers=2", "train.accumulate=2", "train.batch_size=4"),
        tmp.resolve("two"), List.of());
    Trainer.Summary big = Trainer.fit(cfg("train.workers=1", "train.accumulate=1", "train.batch_size=16"),
        inputs(tmp.resolve("big"), VALIDATION), Collective.single(), List.of());
    Trainer.Summary accumulated = Trainer.fit(cfg("train.workers=1", "train.accumulate=4", "train.batch_size=4"),
        inputs(tmp.resolve("acc"), VALIDATION), Collective.single(), List.of());

    assertEquals(6, two.get(0).globalStep(), "44 rows in global batches of 16: 3 steps per epoch, 2 epochs");
    assertEquals(6, big.globalStep());
    assertEquals(6, accumulated.globalStep());
    assertEquals(two.get(0).lastMetrics(), two.get(1).lastMetrics(), "both workers see the summed validation");
    assertEquals(20, two.get(0).lastMetrics().get("val/count"), 1e-9, "validation counts summed over the shares");
    assertEquals(big.lastMetrics().get("val/accuracy"), two.get(0).lastMetrics().get("val/accuracy"), 1e-9);

    Map<String, float[]> twoWeights = Weights.of(last(tmp.resolve("two")));
    double vsBig = Weights.maxDiff(twoWeights, Weights.of(last(tmp.resolve("big"))));
    double vsAccumulated = Weights.maxDiff(twoWeights, Weights.of(last(tmp.resolve("acc"))));
    System.out.println("parity after 6 steps: 2 x 2 x 4 vs 1 x 1 x 16 " + vsBig + ", vs 1 x 4 x 4 " + vsAccumulated);
    assertTrue(vsBig < 1e-5, "2 workers x 2 x 4 vs 1 x 1 x 16: max abs weight difference " + vsBig);
    assertTrue(vsAccumulated < 1e-5, "2 workers x 2 x 4 vs 1 x 4 x 4: max abs weight difference " + vsAccumulated);
    Map<String, float[]> initial = new LinkedHashMap<>();
    TrainerTest.tinyWeights(3).forEach((k, v) -> initial.put(k, v.toFloatArray()));
    double moved = 0;
    for (String k : initial.keySet()) {
      for (int i = 0; i < initial.get(k).length; i++) {
        moved = Math.max(moved, Math.abs(initial.get(k)[i] - twoWeights.get(k)[i]));
      }
    }
    assertTrue(moved > 1e-3, "training moved the weights (by at most " + moved + "), so the comparison means"
        + " something");

    JsonObject state = trainerState(last(tmp.resolve("two")));
    assertEquals(16, state.get("global_batch").getAsInt());
    assertEquals(StepPlan.VERSION, state.get("plan_version").getAsInt());
    assertFalse(state.has("shards"), "checkpoints record the global batch, not the number of workers");
  }

  @Test
  void aWorkerWithoutRowsInItsFirstStepStillTrainsInStepWithTheOthers() throws Exception {
    // 33 rows in global batches of 16 (no bucketing): 16, 16 and 1 rows. Pick a seed whose batch
    // order puts the 1-row batch first, so worker 1 reaches its first all-reduce without ever having
    // run a backward pass, and must contribute zero gradients rather than fail or wait.
    Examples rows = TrainerTest.task(33, 1);
    long seed = 1;
    while (BatchPlan.steps(rows, 16, seed, 0, 1).get(0).length != 1) {
      seed++;
    }
    String[] common = {"train.epochs=1", "train.bucket_batches=1", "train.seed=" + seed};
    Path run = tmp.resolve("empty-first");
    List<RingCollective> ring = LoopbackRing.open(2, Duration.ofSeconds(60), RingCollective.DEFAULT_CHUNK_BYTES);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    TrainConfig twoCfg = cfg(concat(common, "train.workers=2", "train.accumulate=2", "train.batch_size=4"));
    try {
      List<Future<Trainer.Summary>> runs = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        int rank = r;
        runs.add(pool.submit(() -> Trainer.fit(twoCfg, new TrainInputs(rows, TrainWorker.share(VALIDATION, rank, 2),
            TrainerTest.TINY, TrainerTest.tinyWeights(3), "{}".getBytes(), "tiny", "{}",
            new org.apache.hadoop.fs.Path(run.toUri()), CONF), ring.get(rank), List.of())));
      }
      for (Future<Trainer.Summary> f : runs) {
        assertEquals(3, f.get().globalStep());
      }
    } finally {
      pool.shutdownNow();
      ring.forEach(RingCollective::close);
    }
    Path one = tmp.resolve("empty-first-one");
    Trainer.fit(cfg(concat(common, "train.workers=1", "train.batch_size=16")), new TrainInputs(rows, VALIDATION,
        TrainerTest.TINY, TrainerTest.tinyWeights(3), "{}".getBytes(), "tiny", "{}",
        new org.apache.hadoop.fs.Path(one.toUri()), CONF), Collective.single(), List.of());
    double diff = Weights.maxDiff(Weights.of(last(run)), Weights.of(last(one)));
    assertTrue(diff < 1e-5, "max abs weight difference " + diff);
  }

  @Test
  void aMidEpochCheckpointOfTwoWorkersResumesWithOneWorkerAsIfNothingHappened() throws Exception {
    String[] common = {"train.epochs=2", "train.checkpoint.every_steps=2", "train.bucket_batches=1"};
    TrainConfig twoCfg = cfg(concat(common, "train.workers=2", "train.accumulate=2", "train.batch_size=4"));
    twoWorkers(twoCfg, tmp.resolve("straight"), List.of());

    Path killed = tmp.resolve("killed");
    // Both workers die after step 3 (a listener on each), once rank 0 has committed step 2's checkpoint.
    ExecutionException e = assertThrows(ExecutionException.class, () -> twoWorkers(twoCfg, killed,
        List.of(new KillAt(3))));
    assertTrue(e.getCause().getMessage().contains("killed at step 3"), e.getCause().toString());
    Checkpoint mid = last(killed);
    assertEquals(2, mid.globalStep());
    assertEquals(2, trainerState(mid).get("position").getAsInt(), "written in the middle of the epoch");

    // Another global batch cannot continue that epoch: refused, naming the keys, and nothing written.
    List<String> before = Files2.tree(killed);
    TextSparkException refused = assertThrows(TextSparkException.class, () -> Trainer.fit(
        cfg(concat(common, "train.workers=1", "train.accumulate=1", "train.batch_size=8", "train.resume_from=last")),
        inputs(killed, VALIDATION), Collective.single(), List.of()));
    assertTrue(refused.getMessage().contains("global batches of 16 rows") && refused.getMessage().contains("is 8")
        && refused.getMessage().contains("train.workers, train.accumulate and train.batch_size"),
        refused.getMessage());
    assertEquals(before, Files2.tree(killed));

    List<Long> steps = new ArrayList<>();
    Trainer.Listener record = new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        steps.add(globalStep);
      }
    };
    Trainer.fit(cfg(concat(common, "train.workers=1", "train.accumulate=4", "train.batch_size=4",
        "train.resume_from=last")), inputs(killed, VALIDATION), Collective.single(), List.of(record));
    assertEquals(List.of(3L, 4L, 5L, 6L), steps, "from step 3 (the rest of epoch 1) through epoch 2");
    double diff = Weights.maxDiff(Weights.of(last(tmp.resolve("straight"))), Weights.of(last(killed)));
    System.out.println("resumed with 1 worker vs 2 throughout: max abs weight difference " + diff);
    assertTrue(diff < 1e-5, "resumed with 1 worker vs 2 workers throughout: max abs weight difference " + diff);
  }

  private static String[] concat(String[] a, String... b) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(b));
    return all.toArray(new String[0]);
  }
}
