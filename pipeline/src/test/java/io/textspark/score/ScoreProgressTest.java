package io.textspark.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.config.TextSparkConfig;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Progress of a scoring run on real Spark: finished tasks, running tasks through heartbeats, and the lines. */
class ScoreProgressTest {
  private static final Pattern LINE = Pattern.compile("score: ([0-9,]+) of ([0-9,]+) rows \\(([0-9.]+)%\\), (\\d+) of"
      + " (\\d+) partitions done");
  /** Held by the test while a scoring task waits in its input (local mode: one JVM, one static). */
  private static volatile CountDownLatch gate = new CountDownLatch(0);

  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void model() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 41);
  }

  private TextClassifierModel transformer() {
    return new TextClassifierModel().setModelPath(checkpoint.toString()).setMaxLength(16).setBatchSize(4)
        .setWindowBatches(2);
  }

  /** {@code n} short sentences with an id, in {@code partitions} partitions. */
  private Dataset<Row> sentences(int n, int partitions) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(RowFactory.create((long) i, i % 2 == 0 ? "The book was written by John." : "Book the was by."));
    }
    StructType schema = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
    return spark.createDataFrame(new JavaSparkContext(spark.sparkContext()).parallelize(rows, partitions), schema);
  }

  private void drainListeners() throws Exception {
    spark.sparkContext().listenerBus().waitUntilEmpty(TimeUnit.SECONDS.toMillis(30));
  }

  @Test
  void countsEveryRowOnceAndEveryPartitionIncludingEmptyOnes() throws Exception {
    ScoringPlan plan = transformer().prepare(spark);
    // 5 rows in 8 partitions: at least 3 partitions are empty and still count as scored partitions.
    Dataset<Row> rows = sentences(5, 8);
    try (ScoreProgress progress = ScoreProgress.start(spark.sparkContext(), plan, 5, 8, Duration.ofHours(1),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
      // Another job on the same context while the tracker listens: its tasks must not count.
      assertEquals(1000, spark.range(1000).repartition(3).count());
      assertEquals(5, plan.transform(rows).collectAsList().size());
      drainListeners();
      assertEquals(5, progress.rowsDone());
      assertTrue(progress.line().startsWith("score: 5 of 5 rows (100.0%), 8 of 8 partitions done"), progress.line());
    } finally {
      plan.release();
    }
  }

  @Test
  void aRunningTaskReportsItsRowsWithItsExecutorsHeartbeats() throws Exception {
    ScoringPlan plan = transformer().prepare(spark);
    // One partition of 64 rows whose input stops at row 40 until the test lets it go: by then 5
    // windows of 8 rows are scored, and only a heartbeat can say so.
    JavaRDD<Row> held = sentences(64, 1).toJavaRDD().map(r -> {
      if (r.getLong(0) == 40 && !gate.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never released the gate");
      }
      return r;
    });
    Dataset<Row> rows = spark.createDataFrame(held, sentences(0, 1).schema());
    gate = new CountDownLatch(1);
    try (ScoreProgress progress = ScoreProgress.start(spark.sparkContext(), plan, 64, 1, Duration.ofHours(1),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
      CompletableFuture<Long> job = CompletableFuture.supplyAsync(() -> plan.transform(rows).count());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (progress.rowsDone() < 40 && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      String during = progress.line();
      assertFalse(job.isDone(), "the task is still held");
      assertEquals(40, progress.rowsDone(), during);
      assertTrue(during.startsWith("score: 40 of 64 rows (62.5%), 0 of 1 partitions done, "), during);
      assertTrue(during.matches(".*, [0-9.]+ rows/s, about .* left"), during);

      gate.countDown();
      assertEquals(64, job.get(60, TimeUnit.SECONDS));
      drainListeners();
      assertEquals(64, progress.rowsDone(), "the finished task's count replaces its last heartbeat, not adds to it");
      assertTrue(progress.line().startsWith("score: 64 of 64 rows (100.0%), 1 of 1 partitions done"),
          progress.line());
    } finally {
      gate.countDown();
      plan.release();
    }
  }

  @Test
  void theScoreJobPrintsTheTotalAndRisingProgressLinesOnlyWhenAsked() {
    Path input = tmp.resolve("input");
    sentences(300, 3).write().parquet(input.toString());

    String on = run(input, tmp.resolve("on"), "score.progress_every=20ms");
    Matcher header = Pattern.compile("\\(300 rows, (\\d+) partitions\\)").matcher(on);
    assertTrue(header.find(), on);
    Matcher m = LINE.matcher(on);
    long last = 0;
    int lines = 0;
    while (m.find()) {
      long done = Long.parseLong(m.group(1).replace(",", ""));
      assertEquals("300", m.group(2));
      assertEquals(header.group(1), m.group(5));
      assertTrue(done >= last && done <= 300, "rows done rise and stay within the total: " + on);
      last = done;
      lines++;
    }
    assertTrue(lines > 0, on);

    String off = run(input, tmp.resolve("off"), "score.progress_every=0");
    assertFalse(LINE.matcher(off).find(), off);
    assertTrue(off.contains("(" + header.group(1) + " partitions)"), "no count is run when progress is off: " + off);
  }

  private String run(Path input, Path output, String progress) {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    TextSparkConfig config = TextSparkConfig.load(List.of(), List.of("score.input=" + input, "score.output=" + output,
        "score.model=" + checkpoint, "score.max_length=16", "score.batch_size=4", "score.window_batches=2", progress));
    ScoreJob.Report report = ScoreJob.run(spark, config, new PrintStream(printed, true, StandardCharsets.UTF_8));
    assertEquals(300, report.rows());
    return printed.toString(StandardCharsets.UTF_8);
  }
}
