package io.textspark.bench;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.DefaultModel;
import io.textspark.compute.Compute;
import io.textspark.config.BenchConfig;
import io.textspark.config.ScoreConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DataLayout;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.model.PretrainedModel;
import io.textspark.score.ScoreJob;
import io.textspark.score.ScoringPlan;
import io.textspark.text.BertTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
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
          s.model(), s.batchSize(), s.windowBatches(), s.maxLength(), s.device(), s.engine(), s.threads(), 0, true, s.columns(),
          s.scoreLabel(), s.progressEvery());
      ScoreJob.Report report = ScoreJob.run(spark, config, bench, out);
      JsonObject json = print(spark, s, report, out);
      if (config.bench().score().pytorch()) {
        List<String> texts = new ArrayList<>();
        for (Row r : sentences) {
          texts.add(r.getString(3));
        }
        JsonObject pytorch = pytorch(spark, config, texts, report, json, out);
        json.add("pytorch", pytorch);
        out.println("bench-score: " + json);
      }
      return json;
    } finally {
      if (temporary) {
        HadoopPaths.deleteQuietly(work, conf);
      }
    }
  }

  private static JsonObject print(SparkSession spark, ScoreConfig s, ScoreJob.Report report, PrintStream out) {
    ScoringPlan.Timings t = report.timings();
    int taskCpus = spark.sparkContext().getConf().getInt("spark.task.cpus", 1);
    int threads = Compute.threads(s.threads(), taskCpus);
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

  /**
   * Times plain PyTorch eager inference ({@code bench/pytorch_bert.py infer}) on the same rows,
   * model, batch size, windows and total threads, from token ids made by the model's own tokenizer.
   */
  private static JsonObject pytorch(SparkSession spark, TextSparkConfig config, List<String> texts,
      ScoreJob.Report report, JsonObject ours, PrintStream out) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    ScoreConfig s = config.score();
    String reference = DefaultModel.reference(s.model(), config.train(), conf);
    PretrainedModel model = PretrainedModel.load(reference, config.model(), conf);
    int threads = ours.get("parallel_tasks").getAsInt() * ours.get("threads_per_task").getAsInt();
    java.nio.file.Path dir = tempDir();
    try {
      java.nio.file.Path data = Files.createDirectories(dir.resolve("data"));
      try (BertTokenizer tokenizer = BertTokenizer.fromJson(model.tokenizerJson(), report.maxLength());
          Writer w = Files.newBufferedWriter(data.resolve("score.jsonl"), StandardCharsets.UTF_8)) {
        for (String text : texts) {
          JsonArray ids = new JsonArray();
          for (int id : tokenizer.encode(text).ids()) {
            ids.add(id);
          }
          JsonObject row = new JsonObject();
          row.add("ids", ids);
          w.write(row + "\n");
        }
      }
      TrainBenchmark.exportModel(model, dir.resolve("model"));
      BenchConfig.Train py = config.bench().train();
      out.printf(Locale.ROOT, "bench-score: PyTorch eager inference on the same %d rows with %d thread(s)%n",
          report.rows(), threads);
      JsonObject r = PythonBaseline.last(PythonBaseline.run(py.python(), java.nio.file.Path.of(py.script())
          .toAbsolutePath().toString(), List.of("infer", "--model", dir.resolve("model").toString(), "--data",
          data.toString(), "--threads", Integer.toString(threads), "--batch-size", Integer.toString(s.batchSize()),
          "--window-batches", Integer.toString(s.windowBatches()), "--rows", Long.toString(report.rows())), false,
          record -> { }), "inference");
      double rowsPerSecond = r.get("rows_per_second").getAsDouble();
      double modelMsPerRow = r.get("model_seconds").getAsDouble() * 1e3 / report.rows();
      double oursRate = ours.get("rows_per_second").getAsDouble();
      double oursModel = ours.get("model_ms_per_row").getAsDouble() / ours.get("parallel_tasks").getAsInt();
      JsonObject json = new JsonObject();
      json.addProperty("threads", threads);
      json.addProperty("rows_per_second", rowsPerSecond);
      json.addProperty("model_ms_per_row", modelMsPerRow);
      json.addProperty("ratio_end_to_end", oursRate / rowsPerSecond);
      json.addProperty("ratio_model", modelMsPerRow / oursModel);
      out.println();
      out.println("bench-score against PyTorch eager inference in Python (same rows, model, batch and windows)");
      out.printf(Locale.ROOT, "  textspark score job   %8.1f rows/s end to end (Parquet in, tokenize, model, Parquet"
          + " out, commit)%n", oursRate);
      out.printf(Locale.ROOT, "  PyTorch eager         %8.1f rows/s (padding and model only: ids ready-made, no I/O)%n",
          rowsPerSecond);
      out.printf(Locale.ROOT, "  ratio textspark / PyTorch  %.2f end to end; model alone %.2f (%.3f against %.3f ms"
          + " per row of wall time)%n", oursRate / rowsPerSecond, modelMsPerRow / oursModel, oursModel, modelMsPerRow);
      return json;
    } catch (IOException e) {
      throw new TextSparkException("cannot prepare the PyTorch inference run in " + dir + ": " + e.getMessage(), e);
    } finally {
      HadoopPaths.deleteQuietly(new Path(dir.toUri()), conf);
    }
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
