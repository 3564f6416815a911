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
import io.textspark.export.ExportJob;
import io.textspark.export.OnnxExport;
import io.textspark.onnx.Int8Quantizer;
import io.textspark.fs.Download;
import io.textspark.metrics.ClassificationMetrics;
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
import java.time.Duration;
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
 * to {@code bench.score.rows} rows in a Parquet table and scores it with the {@code score} job
 * exactly as a user would, once per side of {@code bench.score.engines}: the checkpoint on PyTorch,
 * its fp32 ONNX export on ONNX Runtime, its int8 export on ONNX Runtime (both exported into the work
 * folder first). Plain PyTorch eager inference in Python runs on the same rows, batches and threads.
 * It prints each side's rows per second, its ratio to PyTorch eager, its MCC on the validation set
 * and its share of the fp32 compute limit ({@link ComputeLimit}). Run it through the launcher so the
 * master and cores are explicit: {@code jobs/bin/textspark bench-score --master local[2] --model <checkpoint>}.
 */
public final class ScoreBenchmark {
  private ScoreBenchmark() {}

  /**
   * One side's run.
   *
   * @param side {@code pytorch}, {@code onnxruntime} or {@code onnxruntime-int8}
   * @param report the score job's report
   * @param mcc the MCC of its predictions on the validation set (the first copy of it)
   * @param json its figures as {@link #print} gave them
   */
  private record Side(String side, ScoreJob.Report report, double mcc, JsonObject json) {}

  /** Builds the input, scores it with every side, prints the figures and returns them as JSON. */
  public static JsonObject run(SparkSession spark, TextSparkConfig config, PrintStream out) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    DataLayout layout = new DataLayout(config.data().root());
    Path raw = HadoopPaths.qualify(layout.raw(), conf);
    if (StagedOutput.marker(raw, conf).isEmpty()) {
      throw new TextSparkException("no CoLA data at " + raw + ": run `textspark download` first (with the same"
          + " data.root); the benchmark replicates its validation split.");
    }
    BenchConfig.Score bench = config.bench().score();
    boolean temporary = bench.workDir().isEmpty();
    Path work = temporary ? new Path(tempDir().toUri()) : HadoopPaths.qualify(new Path(bench.workDir()), conf);
    try {
      List<Row> sentences = spark.read().parquet(layout.raw("validation").toString())
          .select("idx", "label", "domain", "sentence").orderBy("domain", "idx").collectAsList();
      Path input = writeInput(spark, sentences, bench.rows(), new Path(work, "input"), out);
      String reference = DefaultModel.reference(config.score().model(), config.train(), conf);
      List<Side> sides = new ArrayList<>();
      for (String side : bench.engines()) {
        sides.add(side(spark, config, side, reference, input, work, sentences.size(), out));
      }
      // The first side's figures at the top level, as before there were several sides.
      JsonObject json = sides.get(0).json().deepCopy();
      JsonObject eager = null;
      if (bench.pytorch()) {
        eager = pytorch(spark, config, reference, sentences, sides.get(0).report(), json, out);
        json.add("pytorch", eager);
      }
      summary(spark, config, reference, sentences, sides, eager, json, out);
      out.println("bench-score: " + json);
      return json;
    } finally {
      if (temporary) {
        HadoopPaths.deleteQuietly(work, conf);
      }
    }
  }

  /** Writes {@code rows} rows, row i being validation sentence i mod their count, with a {@code row} number. */
  private static Path writeInput(SparkSession spark, List<Row> sentences, long rows, Path input, PrintStream out) {
    int partitions = spark.sparkContext().defaultParallelism();
    // 1043 rows: numbered on the driver, which needs no single-partition window over the table.
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
    return input;
  }

  /** Scores the input with one side (exporting the checkpoint first for ONNX Runtime) and measures its MCC. */
  private static Side side(SparkSession spark, TextSparkConfig config, String side, String reference, Path input,
      Path work, long validationRows, PrintStream out) {
    ScoreConfig s = config.score();
    String model = reference;
    String engine = "pytorch";
    if (side.startsWith("onnxruntime")) {
      boolean int8 = side.endsWith("int8");
      Path folder = new Path(work, int8 ? "export-int8" : "export-fp32");
      // int8 takes export.reduce_range, so the benchmark measures the export a user would make here.
      OnnxExport.Options options = new OnnxExport.Options(int8 ? OnnxExport.Quantization.INT8
          : OnnxExport.Quantization.NONE, int8 && config.export().reduceRange(),
          Int8Quantizer.Activations.parse(config.export().int8Activations(), "export.int8_activations"), true, false);
      OnnxExport.Report exported = ExportJob.export(reference, config.model(), folder, options,
          spark.sparkContext().hadoopConfiguration());
      out.printf(Locale.ROOT, "bench-score: exported %s to %s (%s, %s)%n", reference, exported.output(),
          int8 ? (options.reduceRange() ? "int8, 7-bit weights" : "int8") : "fp32",
          Download.human(exported.modelBytes()));
      model = exported.output().toString();
      engine = "onnxruntime";
    }
    out.printf(Locale.ROOT, "%nbench-score: side %s%n", side);
    Path scored = new Path(work, "scored-" + side);
    ScoreConfig run = new ScoreConfig(input.toString(), scored.toString(), "sentence", model, s.batchSize(),
        s.windowBatches(), s.maxLength(), s.device(), engine, s.threads(), 0, true, s.columns(), s.scoreLabel(),
        s.progressEvery());
    ScoreJob.Report report = ScoreJob.run(spark, config, run, out);
    double mcc = mcc(spark, scored, s.columns().index(), validationRows);
    JsonObject json = print(spark, s, report, out);
    json.addProperty("side", side);
    json.addProperty("mcc", mcc);
    return new Side(side, report, mcc, json);
  }

  /** MCC of the predictions on the first {@code validationRows} rows, which are the validation set once. */
  private static double mcc(SparkSession spark, Path scored, String indexCol, long validationRows) {
    ClassificationMetrics m = new ClassificationMetrics();
    for (Row r : spark.read().parquet(scored.toString()).where(col("row").lt(validationRows))
        .select(col("label"), col(indexCol)).collectAsList()) {
      if (!r.isNullAt(0) && !r.isNullAt(1)) {
        m.add(r.getInt(0), r.getInt(1));
      }
    }
    return m.mcc();
  }

  /** The side-by-side table: rows/s, ratio to PyTorch eager, MCC and share of the fp32 compute limit. */
  private static void summary(SparkSession spark, TextSparkConfig config, String reference, List<Row> sentences,
      List<Side> sides, JsonObject eager, JsonObject json, PrintStream out) {
    int slots = json.get("parallel_tasks").getAsInt();
    int threads = json.get("threads_per_task").getAsInt();
    PretrainedModel model = PretrainedModel.load(reference, config.model(), spark.sparkContext().hadoopConfiguration());
    double meanTokens = meanTokens(model, sentences, json.get("max_length").getAsInt());
    ComputeLimit.Result limit = ComputeLimit.measure(model.config(), meanTokens, slots * threads,
        Duration.ofSeconds(2));
    json.add("compute_limit", limit.toJson());
    double eagerRate = eager == null ? Double.NaN : eager.get("rows_per_second").getAsDouble();
    out.println();
    out.printf(Locale.ROOT, "bench-score side by side: %d rows, batch %d, max_length %d, %d task(s) x %d thread(s)%n",
        json.get("rows").getAsLong(), json.get("batch_size").getAsInt(), json.get("max_length").getAsInt(), slots,
        threads);
    out.printf(Locale.ROOT, "  %-40s %10s %12s %8s %14s%n", "side", "rows/s", "vs eager", "MCC", "of fp32 limit");
    if (eager != null) {
      out.printf(Locale.ROOT, "  %-40s %10.1f %12s %8s %13.1f%%%n", "PyTorch eager (Python, model only)", eagerRate,
          "1.00", eager.has("mcc") ? String.format(Locale.ROOT, "%.3f", eager.get("mcc").getAsDouble()) : "-",
          100 * limit.share(eagerRate));
    }
    for (Side side : sides) {
      double rate = side.report().rows() / side.report().seconds();
      side.json().addProperty("ratio_to_pytorch_eager", rate / eagerRate);
      side.json().addProperty("share_of_fp32_limit", limit.share(rate));
      out.printf(Locale.ROOT, "  %-40s %10.1f %12s %8.3f %13.1f%%%n", "textspark " + side.side() + " (end to end)",
          rate, eager == null ? "-" : String.format(Locale.ROOT, "%.2f", rate / eagerRate), side.mcc(),
          100 * limit.share(rate));
    }
    JsonArray all = new JsonArray();
    sides.forEach(x -> all.add(x.json()));
    json.add("sides", all);
    out.printf(Locale.ROOT, "  fp32 compute limit: %.1f GFLOP/s fp32 GEMM on %d thread(s), %.3f GFLOP per row (mean %.1f"
        + " tokens) -> %.1f rows/s%n", limit.gemmGflops(), limit.threads(), limit.gflopPerRow(), meanTokens,
        limit.rowsPerSecond());
  }

  private static double meanTokens(PretrainedModel model, List<Row> sentences, int maxLength) {
    long tokens = 0;
    try (BertTokenizer tokenizer = BertTokenizer.fromJson(model.tokenizerJson(), maxLength)) {
      for (Row r : sentences) {
        tokens += tokenizer.encode(r.getString(3)).ids().length;
      }
    }
    return (double) tokens / Math.max(1, sentences.size());
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
    out.printf(Locale.ROOT, "  compute             %s: %d parallel task(s) x %d thread(s)%n",
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
  private static JsonObject pytorch(SparkSession spark, TextSparkConfig config, String reference, List<Row> sentences,
      ScoreJob.Report report, JsonObject ours, PrintStream out) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    ScoreConfig s = config.score();
    PretrainedModel model = PretrainedModel.load(reference, config.model(), conf);
    int threads = ours.get("parallel_tasks").getAsInt() * ours.get("threads_per_task").getAsInt();
    java.nio.file.Path dir = tempDir();
    try {
      java.nio.file.Path data = Files.createDirectories(dir.resolve("data"));
      try (BertTokenizer tokenizer = BertTokenizer.fromJson(model.tokenizerJson(), report.maxLength());
          Writer w = Files.newBufferedWriter(data.resolve("score.jsonl"), StandardCharsets.UTF_8)) {
        for (Row sentence : sentences) {
          JsonArray ids = new JsonArray();
          for (int id : tokenizer.encode(sentence.getString(3)).ids()) {
            ids.add(id);
          }
          JsonObject row = new JsonObject();
          row.add("ids", ids);
          row.addProperty("label", sentence.getInt(1));
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
      if (r.has("mcc")) {
        json.addProperty("mcc", r.get("mcc").getAsDouble());
      }
      out.println();
      out.println("bench-score: the first side against PyTorch eager inference in Python (same rows, model, batch and"
          + " windows)");
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
