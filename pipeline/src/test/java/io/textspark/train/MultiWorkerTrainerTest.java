package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.batch.Examples;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.Collective;
import io.textspark.collective.LoopbackRing;
import io.textspark.collective.RingCollective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.model.Safetensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer with two workers in threads of this JVM, joined by a loopback ring, against one
 * worker holding both shards: the smallest setting in which the collective, the sharded plans and
 * an empty step (a smaller shard's padding) meet.
 */
class MultiWorkerTrainerTest {
  private static final Configuration CONF = new Configuration();

  @TempDir Path tmp;

  private static TrainConfig cfg(long seed, String... more) {
    List<String> all = new ArrayList<>(List.of("train.lr=3e-3", "train.epochs=2", "train.bucket_batches=1",
        "train.log_every_steps=1000", "train.threads=1", "train.dropout=0", "train.seed=" + seed));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all).train();
  }

  private TrainInputs inputs(Path run, Examples rows, Examples validation, Sharding sharding) {
    return new TrainInputs(rows, validation, TrainerTest.TINY, TrainerTest.tinyWeights(3),
        "{}".getBytes(), "tiny", "{}", new org.apache.hadoop.fs.Path(run.toUri()), CONF, sharding);
  }

  private static Examples shard(Examples all, int s, int shards) {
    int[] positions = new int[Sharding.rowsOf(s, shards, all.size())];
    for (int i = 0; i < positions.length; i++) {
      positions[i] = s + i * shards;
    }
    return all.subset(positions);
  }

  private static Map<String, float[]> lastWeights(Path run) throws IOException {
    Checkpoint c = new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()), CONF)
        .last().orElseThrow();
    try (InputStream in = c.open(CheckpointLayout.WEIGHTS)) {
      Map<String, float[]> out = new LinkedHashMap<>();
      Safetensors.read(in, "test").forEach((k, v) -> out.put(k, v.toFloatArray()));
      return out;
    }
  }

  @Test
  void aWorkerWhoseFirstStepIsEmptyStillTrainsInStepWithTheOthers() throws Exception {
    // 33 rows: shard 0 has 17 (two batches of at most 16), shard 1 has 16 (one batch and one empty
    // step). Pick a seed whose shared batch order puts shard 1's empty step first in epoch 0, so
    // that worker reaches its first all-reduce without ever having run a backward pass.
    Examples all = TrainerTest.task(33, 1);
    Examples validation = TrainerTest.task(20, 2);
    long seed = 1;
    while (new ShardPlan(shard(all, 1, 2), Sharding.one(1, 2, 33), 16, 1, seed, 1).epoch(0).get(0).get(0).length
        != 0) {
      seed++;
    }
    TrainConfig workerCfg = cfg(seed, "train.workers=2", "train.batch_size=16");
    List<RingCollective> ring = LoopbackRing.open(2, Duration.ofSeconds(60), RingCollective.DEFAULT_CHUNK_BYTES);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<Trainer.Summary> summaries = new ArrayList<>();
    try {
      List<Future<Trainer.Summary>> runs = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        int rank = r;
        runs.add(pool.submit(() -> Trainer.fit(workerCfg, inputs(tmp.resolve("workers"), shard(all, rank, 2),
            shard(validation, rank, 2), Sharding.one(rank, 2, 33)), ring.get(rank), List.of())));
      }
      for (Future<Trainer.Summary> f : runs) {
        summaries.add(f.get());
      }
    } finally {
      pool.shutdownNow();
      ring.forEach(RingCollective::close);
    }
    assertEquals(4, summaries.get(0).globalStep(), "2 steps per epoch on both workers");
    assertEquals(summaries.get(0).lastMetrics(), summaries.get(1).lastMetrics(), "both see the summed validation");

    Trainer.Summary one = Trainer.fit(cfg(seed, "train.workers=1", "train.batch_size=32"),
        inputs(tmp.resolve("one"), all, validation, Sharding.all(2, 33)), Collective.single(), List.of());
    assertEquals(20, summaries.get(0).lastMetrics().get("val/count"), 1e-9, "validation counts summed over shards");
    assertEquals(one.lastMetrics().get("val/accuracy"), summaries.get(0).lastMetrics().get("val/accuracy"), 1e-9);
    Map<String, float[]> a = lastWeights(tmp.resolve("workers"));
    Map<String, float[]> b = lastWeights(tmp.resolve("one"));
    double max = 0;
    for (String k : a.keySet()) {
      for (int i = 0; i < a.get(k).length; i++) {
        max = Math.max(max, Math.abs(a.get(k)[i] - b.get(k)[i]));
      }
    }
    assertTrue(max < 1e-5, "two workers vs one holding both shards: max abs weight difference " + max);
  }
}
