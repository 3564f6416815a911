package io.textspark.jobs;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.config.ScoreConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DataLayout;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.score.ScoreJob;
import io.textspark.score.ScoringPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The scoring benchmark ({@code textspark bench-score}): replicates the CoLA validation sentences
 * to {@code bench.score.rows} rows in a Parquet table, runs the {@code score} job on it exactly as a user
 * would, and prints rows per second and the time per row spent tokenizing, in the model, and
 * reading and writing. Run it through the launcher so the master and cores are explicit:
 * {@code jobs/bin/textspark bench-score --master local[2] --model <checkpoint>}.
 */
public final class ScoreBenchmark {
  private ScoreBenchmark() {}

  /** Runs the benchmark as {@code textspark bench-score ARGS}. */
  public static void main(String[] args) {
    String[] all = new String[args.length + 1];
    all[0] = "bench-score";
    System.arraycopy(args, 0, all, 1, args.length);
    TextSpark.main(all);
  }

  /** Builds the input, scores it, prints the figures and returns them as JSON. */
  public static JsonObject run(SparkSession spark, TextSparkConfig config, PrintStream out) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    DataLayout layout = new DataLayout(config.data().root());
    Path raw = HadoopPaths.qualify(layout.raw(), conf);
    if (StagedOutput.marker(raw, conf).isEmpty()) {
      throw new TextSparkException("no CoLA data at " + raw + ": run `textspark download` first (with the same"
          + " data.root); the benchmark replicates its validation split.");
    }
    long rows = config.bench().score().rows();
    boolean temporary = config.bench().score().workDir().isEmpty();
    Path work = temporary ? new Path(tempDir().toUri()) : HadoopPaths.qualify(new Path(config.bench().score().workDir()), conf);
    try {
      int partitions = spark.sparkContext().defaultParallelism();
      Path input = new Path(work, "input");
      // 1043 rows: numbered on the driver, which needs no single-partition window over the table.
      List<Row> sentences = spark.read().parquet(layout.raw("validation").toString())
          .select("idx", "label", "domain", "sentence").orderBy("domain", "idx").collectAsList();
      List<Row> numbered = new ArrayList<>();
      for (int i = 0; i < sentences.size(); i++) {
        Row r = sentences.get(i);
        numbered.add(RowFactory.create(r.get(0), r.get(1), r.get(2), r.get(3), (long) i));
      }
      StructType schema = new StructType().add("idx", DataTypes.IntegerType).add("label", DataTypes.IntegerType)
          .add("domain", DataTypes.StringType).add("sentence", DataTypes.StringType)
          .add("position", DataTypes.LongType);
      Dataset<Row> validation = spark.createDataFrame(numbered, schema);
      long base = numbered.size();
      // Row i of the benchmark is validation row i mod base: same sentences, same length mix.
      spark.range(0, rows, 1, partitions).withColumnRenamed("id", "row")
          .join(broadcast(validation), col("row").mod(base).equalTo(col("position")))
          .drop("position")
          .write().mode(SaveMode.Overwrite).parquet(input.toString());
      out.printf(Locale.ROOT, "bench-score: CoLA validation (%d rows) replicated to %d rows in %d partitions at %s%n",
          base, rows, partitions, input);

      ScoreConfig s = config.score();
      ScoreConfig bench = new ScoreConfig(input.toString(), new Path(work, "scored").toString(), "sentence",
          s.model(), s.batchSize(), s.windowBatches(), s.maxLength(), s.device(), s.threads(), 0, true, s.columns(),
          s.scoreLabel());
      ScoreJob.Report report = ScoreJob.run(spark, config, bench, out);
      return print(spark, s, report, out);
    } finally {
      if (temporary) {
        HadoopPaths.deleteQuietly(work, conf);
      }
    }
  }

  private static JsonObject print(SparkSession spark, ScoreConfig s, ScoreJob.Report report, PrintStream out) {
    ScoringPlan.Timings t = report.timings();
    int taskCpus = spark.sparkContext().getConf().getInt("spark.task.cpus", 1);
    int threads = s.threads() > 0 ? s.threads() : taskCpus;
    int slots = Math.max(1, spark.sparkContext().defaultParallelism() / taskCpus);
    double perRow = 1e3 / Math.max(1, t.rows());
    JsonObject json = new JsonObject();
    json.addProperty("rows", report.rows());
    json.addProperty("master", spark.sparkContext().master());
    json.addProperty("parallel_tasks", slots);
    json.addProperty("threads_per_task", threads);
    json.addProperty("batch_size", s.batchSize());
    json.addProperty("max_length", report.maxLength());
    json.addProperty("wall_seconds", report.seconds());
    json.addProperty("rows_per_second", report.rows() / report.seconds());
    json.addProperty("tokenize_ms_per_row", t.tokenizeSeconds() * perRow);
    json.addProperty("model_ms_per_row", t.modelSeconds() * perRow);
    json.addProperty("read_write_ms_per_row", t.otherSeconds() * perRow);
    json.addProperty("model_load_seconds", t.loadSeconds());
    out.println();
    out.println("bench-score results");
    out.printf(Locale.ROOT, "  rows                %d (batch %d, max_length %d)%n", report.rows(), s.batchSize(),
        report.maxLength());
    out.printf(Locale.ROOT, "  compute             %s: %d parallel task(s) x %d PyTorch thread(s)%n",
        spark.sparkContext().master(), slots, threads);
    out.printf(Locale.ROOT, "  wall time           %.1f s for the whole score job (read, tokenize, model, write,"
        + " commit)%n", report.seconds());
    out.printf(Locale.ROOT, "  throughput          %.1f rows/s%n", report.rows() / report.seconds());
    out.printf(Locale.ROOT, "  per row, task time summed over tasks (wall time per row is this / %d):%n", slots);
    out.printf(Locale.ROOT, "    tokenize          %.4f ms%n", t.tokenizeSeconds() * perRow);
    out.printf(Locale.ROOT, "    model             %.4f ms (padding, batching and the forward pass)%n",
        t.modelSeconds() * perRow);
    out.printf(Locale.ROOT, "    read and write    %.4f ms (Parquet in, rows out, Parquet write)%n",
        t.otherSeconds() * perRow);
    out.printf(Locale.ROOT, "  model load          %.2f s per executor JVM (not in the per-row figures)%n",
        t.loadSeconds());
    out.println("bench-score: " + json);
    return json;
  }

  private static java.nio.file.Path tempDir() {
    try {
      return Files.createTempDirectory("textspark-bench-");
    } catch (IOException e) {
      throw new TextSparkException("cannot create a temporary folder for the benchmark (" + e.getMessage()
          + "); set bench.score.work_dir to a writable folder.", e);
    }
  }
}
