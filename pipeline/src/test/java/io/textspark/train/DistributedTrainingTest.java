package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.batch.Examples;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.Collective;
import io.textspark.config.ConfigError;
import io.textspark.config.ConfigLoader;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DataLayout;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.model.PretrainedModel;
import io.textspark.testing.MlflowServer;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyBert;
import io.textspark.testing.Weights;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multi-worker training through the train command on local[2]: two barrier tasks, real CoLA
 * data, a tiny random BERT with MiniLM's tokenizer, the TCP ring between the tasks.
 */
class DistributedTrainingTest {
  @TempDir static Path shared;
  @TempDir Path tmp;
  private static Path model;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void data() throws IOException {
    TextSparkConfig tokenize = TextSparkConfig.load(List.of(), List.of("data.url=" + Shared.colaZip().toUri(),
        "data.root=" + shared.resolve("data"), "model.name=" + Shared.miniLm()));
    DownloadJob.run(SharedSpark.get(), tokenize);
    TokenizeJob.run(SharedSpark.get(), tokenize);
    model = TinyBert.write(shared.resolve("tiny-bert"), 3);
  }

  private static TextSparkConfig config(Path run, String... more) {
    List<String> all = new ArrayList<>(List.of("data.root=" + shared.resolve("data"), "model.name=" + model,
        "train.output_dir=" + run, "train.threads=1", "train.lr=1e-3", "train.seed=5", "train.dropout=0",
        "train.bucket_batches=4", "train.log_every_steps=1000", "train.val_batch_size=256",
        "train.collective_timeout=60s"));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all);
  }

  private static Checkpoint last(Path run) {
    return new CheckpointStore(new org.apache.hadoop.fs.Path(run.resolve("checkpoints").toUri()),
        new Configuration()).last().orElseThrow();
  }

  /** Runs {@code body} while echoing and recording what it prints. */
  private static <T> T printed(StringBuilder into, Supplier<T> body) {
    PrintStream original = System.out;
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    System.setOut(new PrintStream(new OutputStream() {
      @Override
      public void write(int b) {
        original.write(b);
        copy.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        original.write(b, off, len);
        copy.write(b, off, len);
      }
    }, true, StandardCharsets.UTF_8));
    try {
      return body.get();
    } finally {
      System.setOut(original);
      into.append(copy.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void twoWorkersWithTwoMicroBatchesOfEightGiveTheWeightsOfOneWorkerWithBatchesOf32() throws IOException {
    Path dist = tmp.resolve("dist");
    StringBuilder out = new StringBuilder();
    Trainer.Summary s = printed(out, () -> TrainJob.run(spark, config(dist, "train.workers=2", "train.accumulate=2",
        "train.batch_size=8", "train.max_steps=6"), List.of()));
    assertEquals(6, s.globalStep());
    assertTrue(out.toString().contains("per rank: step s"), "per-rank timings are logged");

    // The reference: one worker, no accumulation, batches of 32: the same global batches.
    TextSparkConfig ref = config(tmp.resolve("ref"), "train.workers=1", "train.accumulate=1", "train.batch_size=32",
        "train.max_steps=6");
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    DataLayout layout = new DataLayout(ref.data().root());
    Examples train = Examples.fromRows(spark.read().parquet(layout.tokenized("train").toString()).toLocalIterator());
    Examples validation = Examples.fromRows(
        spark.read().parquet(layout.tokenized("validation").toString()).toLocalIterator(), "validation set");
    PretrainedModel pretrained = PretrainedModel.load(model.toString(), ref.model(), conf);
    TrainInputs inputs = new TrainInputs(train, validation, pretrained.config(), pretrained.weights(),
        pretrained.tokenizerJson(), pretrained.reference(), ref.renderedJson(),
        new org.apache.hadoop.fs.Path(tmp.resolve("ref").toUri()), conf);
    Trainer.Summary r = Trainer.fit(ref.train(), inputs, Collective.single(), List.of());
    assertEquals(6, r.globalStep());

    Map<String, float[]> distWeights = Weights.of(last(dist));
    double diff = Weights.maxDiff(distWeights, Weights.of(last(tmp.resolve("ref"))));
    System.out.println("parity: 2 workers x 2 x 8 vs 1 x 1 x 32 after 6 steps: max abs weight difference " + diff);
    assertTrue(diff < 1e-5, "max abs weight difference " + diff);
    Map<String, float[]> initial = new LinkedHashMap<>();
    TinyBert.encoderWeights(3).forEach((k, v) -> initial.put(k, v.toFloatArray()));
    double moved = 0;
    for (String k : initial.keySet()) {
      for (int i = 0; i < initial.get(k).length; i++) {
        moved = Math.max(moved, Math.abs(initial.get(k)[i] - distWeights.get(k)[i]));
      }
    }
    assertTrue(moved > 1e-3, "training moved the weights (by at most " + moved + "), so the comparison means something");
    assertEquals(s.lastMetrics().get("val/count"), 1043, 1e-9, "validation counts summed over both workers' shares");
    assertEquals(s.lastMetrics().get("val/accuracy"), r.lastMetrics().get("val/accuracy"), 1e-9);
  }

  @Test
  void twoWorkersLogOneMlflowRunFromRankZeroAndOneWorkerFromTheDriver() throws IOException {
    try (MlflowServer server = new MlflowServer()) {
      Path run = tmp.resolve("tracked");
      Trainer.Summary s = TrainJob.run(spark, config(run, "train.workers=2", "train.accumulate=1",
          "train.batch_size=8", "train.max_steps=4", "tracking.mlflow.uri=" + server.uri(),
          "tracking.mlflow.experiment=cola"), List.of());
      assertEquals(1, server.runs().size(), "rank 0 alone tracks");
      MlflowServer.Run r = server.runs().values().iterator().next();
      assertEquals("FINISHED", r.info.get("status").getAsString());
      assertEquals("tracked", r.tags.get("mlflow.runName"));
      assertEquals("textspark train", r.tags.get("mlflow.source.name"));
      assertEquals(spark.sparkContext().applicationId(), r.tags.get("textspark.spark.application_id"));
      PretrainedModel pretrained = PretrainedModel.load(model.toString(), config(run).model(),
          spark.sparkContext().hadoopConfiguration());
      assertEquals(pretrained.tokenizerSha256(), r.tags.get("textspark.model.tokenizer_sha256"));
      assertEquals(pretrained.tokenizerSha256(), r.tags.get("textspark.data.tokenizer_sha256"));
      assertEquals(64, r.tags.get("textspark.data.raw_sha256").length());
      assertEquals("2", r.params.get("train.workers"));
      assertEquals("cola", server.experiments().values().iterator().next().get("name").getAsString());
      assertEquals(List.of(1L, 2L, 3L, 4L), r.metrics.stream().filter(m -> m.get("key").getAsString().equals("train/loss"))
          .map(m -> m.get("step").getAsLong()).toList(), "each step once");
      String best = new org.apache.hadoop.fs.Path(s.bestCheckpoint()).getName();
      assertTrue(server.artifacts().keySet().stream().anyMatch(k -> k.endsWith("/artifacts/checkpoint/model.safetensors")),
          "the best checkpoint " + best + " is uploaded: " + server.artifacts().keySet());

      // One worker trains on the driver, with the same sinks.
      TrainJob.run(spark, config(tmp.resolve("driver"), "train.workers=1", "train.batch_size=16", "train.max_steps=2",
          "tracking.mlflow.uri=" + server.uri(), "tracking.mlflow.experiment=cola"), List.of());
      MlflowServer.Run driver = server.runs().values().stream()
          .filter(x -> "driver".equals(x.tags.get("mlflow.runName"))).findFirst().orElseThrow();
      assertEquals("FINISHED", driver.info.get("status").getAsString());
      assertEquals("1", driver.params.get("train.workers"));
      assertEquals(r.info.get("experiment_id"), driver.info.get("experiment_id"));
      assertEquals(2, driver.metrics.stream().filter(m -> m.get("key").getAsString().equals("train/loss")).count());
    }
  }

  @Test
  void aWorkerFailureRestartsFromTheLastCheckpointAndEndsWithTheWeightsOfAnUnfailedRun() throws IOException {
    String[] common = {"train.workers=2", "train.batch_size=16", "train.max_steps=7", "train.checkpoint.every_steps=2",
        "train.max_restarts=1"};
    Path clean = tmp.resolve("clean");
    TrainJob.run(spark, config(clean, common), List.of());

    Path failed = tmp.resolve("failed");
    StringBuilder out = new StringBuilder();
    Trainer.Summary s;
    WorkerHooks.Registration fault = FaultInjection.arm("rank=1,step=5,attempt=0,action=throw");
    try {
      s = printed(out, () -> TrainJob.run(spark, config(failed, common), List.of()));
    } finally {
      fault.close();
    }
    String console = out.toString();
    // The driver reports whichever failure reaches it first: the injected fault itself, or rank 0
    // finding that rank 1 closed its connection mid all-reduce. Either names the failed rank.
    assertTrue(console.contains("train: the barrier stage failed: injected fault")
        || console.contains("train: the barrier stage failed: rank 0: rank 1 "), console);
    assertTrue(console.contains("train: restart 1 of 1 (train.max_restarts) from checkpoint"), console);
    assertTrue(console.contains("(step 4)"), "the newest checkpoint before the failure: " + console);
    assertEquals(7, s.globalStep());
    double diff = Weights.maxDiff(Weights.of(last(clean)), Weights.of(last(failed)));
    System.out.println("recovery: failed at step 5, resumed from step 4: max abs weight difference to the unfailed"
        + " run " + diff);
    assertEquals(0.0, diff, "steps 5 to 7 recomputed exactly, none skipped or applied twice");
  }

  @Test
  void aRestartThatFindsFewerTaskSlotsContinuesWithFewerWorkersAndTrainsTheSameModel() throws IOException {
    String[] common = {"train.workers=2", "train.accumulate=2", "train.batch_size=8", "train.max_steps=6",
        "train.checkpoint.every_steps=2", "train.max_restarts=1"};
    Path clean = tmp.resolve("clean");
    TrainJob.run(spark, config(clean, common), List.of());

    // Rank 1 fails at step 3 of the first attempt, and the cluster has then one task slot left (as
    // when an executor does not come back): the restart runs a barrier stage of one task.
    Path elastic = tmp.resolve("elastic");
    TextSparkConfig cfg = config(elastic, concat(common, "train.min_workers=1"));
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    DataLayout layout = new DataLayout(cfg.data().root());
    PretrainedModel pretrained = PretrainedModel.load(model.toString(), cfg.model(), conf);
    AtomicInteger slotChecks = new AtomicInteger();
    IntSupplier slots = () -> slotChecks.getAndIncrement() == 0 ? DistributedTraining.taskSlots(spark.sparkContext())
        : 1;
    StringBuilder out = new StringBuilder();
    Trainer.Summary s;
    WorkerHooks.Registration fault = FaultInjection.arm("rank=1,step=3,attempt=0,action=throw");
    try {
      s = printed(out, () -> DistributedTraining.run(spark, cfg, pretrained,
          spark.read().parquet(layout.tokenized("train").toString()),
          spark.read().parquet(layout.tokenized("validation").toString()),
          new org.apache.hadoop.fs.Path(elastic.toUri()), io.textspark.metrics.RunLogs::open, slots));
    } finally {
      fault.close();
    }
    String console = out.toString();
    assertTrue(console.contains("train: only 1 task slot(s) now, fewer than train.workers = 2: continuing with 1"
        + " workers (train.min_workers = 1), each running 4 micro-batch(es) of at most 8 rows; the global batch stays"
        + " 32 rows"), console);
    assertTrue(console.contains("train: restart 1 of 1 (train.max_restarts) from checkpoint"), console);
    assertTrue(console.contains("(step 2)"), "the newest checkpoint before the failure: " + console);
    assertTrue(console.contains("train: rank 0 of 1 (attempt 1)"), "the restart ran one worker: " + console);
    assertEquals(6, s.globalStep());
    double diff = Weights.maxDiff(Weights.of(last(clean)), Weights.of(last(elastic)));
    System.out.println("elastic: 2 workers, then 1 from step 2: max abs weight difference to 2 workers throughout "
        + diff);
    assertTrue(diff < 1e-5, "max abs weight difference " + diff);
  }

  @Test
  void minWorkersDefaultsToTheWorkersAndLetsARestartContinueWithFewer() {
    assertEquals(4, TextSparkConfig.load(List.of(), List.of("train.workers=4")).train().minWorkers());
    ConfigError tooMany = assertThrows(ConfigError.class,
        () -> TextSparkConfig.load(List.of(), List.of("train.workers=2", "train.min_workers=3")));
    assertTrue(tooMany.getMessage().contains("train.min_workers"), tooMany.getMessage());
    assertThrows(ConfigError.class, () -> TextSparkConfig.load(List.of(), List.of("train.min_workers=0")));
    assertTrue(ConfigLoader.comment("train.min_workers").startsWith("Fewest workers a restart continues with"),
        "--help shows the key's own comment, not that of the train.workers it defaults to");
    assertTrue(ConfigLoader.comment("data.url").endsWith("$COLA_URL overrides."), ConfigLoader.comment("data.url"));

    SparkConf none = new SparkConf();
    assertEquals(3, DistributedTraining.checkCluster(none, "spark://h:7077", () -> 3, 4, 2, Duration.ZERO));
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> DistributedTraining.checkCluster(none, "spark://h:7077", () -> 1, 4, 2, Duration.ZERO));
    assertTrue(e.getMessage().contains("train.min_workers = 2") && e.getMessage().contains("offers 1"),
        e.getMessage());
    e = assertThrows(TextSparkException.class,
        () -> DistributedTraining.checkCluster(none, "spark://h:7077", () -> 3, 4, 4, Duration.ZERO));
    assertTrue(e.getMessage().contains("needs 4 task slots"), e.getMessage());
  }

  private static String[] concat(String[] a, String... b) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(b));
    return all.toArray(new String[0]);
  }

  @Test
  void aStalledWorkerFailsTheRunWithinTheCollectiveTimeoutNamingIt() {
    Path run = tmp.resolve("stalled");
    long start = System.nanoTime();
    TextSparkException e;
    WorkerHooks.Registration fault = FaultInjection.arm("rank=1,step=2,attempt=0,action=stall");
    try {
      e = assertThrows(TextSparkException.class, () -> TrainJob.run(spark, config(run, "train.workers=2",
          "train.batch_size=16", "train.max_steps=5", "train.max_restarts=0", "train.collective_timeout=3s"),
          List.of()));
    } finally {
      fault.close();
    }
    long seconds = (System.nanoTime() - start) / 1_000_000_000;
    assertTrue(e.getMessage().contains("rank 1") && e.getMessage().contains("did not start"), e.getMessage());
    assertTrue(e.getMessage().contains("train.max_restarts = 0"), e.getMessage());
    assertTrue(seconds < 60, "failed after " + seconds + " s");
  }

  @Test
  void refusesMoreWorkersThanTaskSlotsBeforeWritingAnything() {
    Path run = tmp.resolve("too-many");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> TrainJob.run(spark, config(run, "train.workers=3"), List.of()));
    assertTrue(e.getMessage().contains("needs 3 task slots") && e.getMessage().contains("offers 2"), e.getMessage());
    assertTrue(e.getMessage().contains("--master local[3]"), e.getMessage());
    assertFalse(Files.exists(run));
  }

  @Test
  void refusesDynamicAllocationAndTooFewClusterSlotsWithTheFix() {
    SparkConf dynamic = new SparkConf().set("spark.dynamicAllocation.enabled", "true");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> DistributedTraining.checkCluster(dynamic, "yarn", () -> 8, 2, Duration.ZERO));
    assertTrue(e.getMessage().contains("spark.dynamicAllocation.enabled=false"), e.getMessage());

    long start = System.nanoTime();
    e = assertThrows(TextSparkException.class, () -> DistributedTraining.checkCluster(new SparkConf(),
        "spark://127.0.0.1:7077", () -> 1, 2, Duration.ofSeconds(1)));
    assertTrue(e.getMessage().contains("offers 1") && e.getMessage().contains("--total-executor-cores"),
        e.getMessage());
    assertTrue((System.nanoTime() - start) / 1_000_000 >= 1000, "a cluster gets time to register executors");
    assertEquals(4, DistributedTraining.checkCluster(new SparkConf(), "spark://h:7077", () -> 4, 4, Duration.ZERO));
  }

  @Test
  void restartsAfterCrashesButNotAfterErrorsTheUserMustFix() {
    Exception lost = new org.apache.spark.SparkException("Job aborted due to stage failure: Could not recover from a"
        + " failed barrier ResultStage. Most recent failure reason: Stage failed because barrier task ResultTask(3, 1)"
        + " finished unsuccessfully.\nExecutorLostFailure (executor 1 exited caused by one of the running tasks)"
        + " Reason: Command exited with code 137\n");
    assertTrue(DistributedTraining.restartable(lost));
    assertTrue(DistributedTraining.reason(lost).startsWith("ExecutorLostFailure (executor 1 exited"));
    Exception ring = new org.apache.spark.SparkException("Job aborted: Stage failed because barrier task finished"
        + " unsuccessfully.\nio.textspark.collective.CollectiveException: rank 0: rank 1 (h:1) closed the connection"
        + "\n\tat io.textspark.collective.RingCollective.readFully(RingCollective.java:1)\n");
    assertTrue(DistributedTraining.restartable(ring));
    assertEquals("rank 0: rank 1 (h:1) closed the connection", DistributedTraining.reason(ring));
    Exception data = new org.apache.spark.SparkException("Job aborted: Stage failed because barrier task finished"
        + " unsuccessfully.\nio.textspark.TextSparkException: the row with idx 4 has label 7\n\tat x.y(Z.java:1)\n");
    assertFalse(DistributedTraining.restartable(data));
    assertEquals("the row with idx 4 has label 7", DistributedTraining.reason(data));
  }
}
