package io.textspark.demo;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.config.DemoConfig;
import io.textspark.config.ScoreConfig;
import io.textspark.config.ServeConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DataLayout;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.fs.HadoopPaths;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Predictor;
import io.textspark.model.PretrainedModel;
import io.textspark.report.HtmlReport;
import io.textspark.report.RunMetrics;
import io.textspark.score.ScoreJob;
import io.textspark.serve.ApiKeys;
import io.textspark.serve.PredictionServer;
import io.textspark.evaluate.EvaluateJob;
import io.textspark.export.ExportJob;
import io.textspark.train.TrainJob;
import io.textspark.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The {@code demo} command: the whole pipeline on CoLA in one go (download, tokenize, a short
 * data-parallel training run, evaluate, score a sample table, export the model to ONNX int8 and score
 * the sample again on ONNX Runtime, serve a few requests over HTTP), each stage's progress on the
 * console, then a summary and an HTML report with the training curves and the confusion matrix that opens
 * without network. Everything goes under {@code demo.root}.
 */
public final class DemoJob {
  private DemoJob() {}

  /** One stage's wall time and what it wrote. */
  private record Stage(String name, double seconds, String output) {}

  /** Runs the demo; returns the summary that it also prints as JSON. */
  public static JsonObject run(SparkSession spark, TextSparkConfig config, PrintStream out) {
    DemoConfig d = config.demo();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    config.hadoop().applyTo(conf);
    Path root = HadoopPaths.qualify(new Path(d.root()), conf);
    String run = new Path(root, "run").toString();
    String sample = new Path(root, "sample").toString();
    String scored = new Path(root, "scored").toString();
    String onnx = new Path(root, "onnx").toString();
    String scoredOnnx = new Path(root, "scored-onnx").toString();
    TextSparkConfig c = config.with(List.of(
        "model.name=" + (d.model().isEmpty() ? config.model().name() : d.model()),
        "data.root=" + new Path(root, "data"),
        "train.output_dir=" + run,
        "train.workers=" + d.workers(),
        "train.batch_size=" + d.batchSize(),
        "train.lr=" + d.lr(),
        "train.epochs=" + d.epochs(),
        "train.max_steps=" + d.maxSteps(),
        "train.val_every_steps=" + d.valEverySteps(),
        "train.resume_from=",
        "evaluate.model=",
        "score.input=" + sample,
        "score.output=" + scored,
        "score.text_col=text",
        "score.model=",
        "score.overwrite=true"));
    List<Stage> stages = new ArrayList<>();
    long started = System.nanoTime();

    banner(out, 1, "download", "CoLA to Parquet");
    long t = System.nanoTime();
    DownloadJob.Report download = DownloadJob.run(spark, c);
    stages.add(new Stage("download", seconds(t), download.output().toString()));

    banner(out, 2, "tokenize", "word pieces of " + c.model().name());
    t = System.nanoTime();
    TokenizeJob.Report tokenize = TokenizeJob.run(spark, c);
    stages.add(new Stage("tokenize", seconds(t), tokenize.output().toString()));

    banner(out, 3, "train", d.workers() + " workers, " + (d.maxSteps() > 0 ? d.maxSteps() + " steps" : d.epochs()
        + " epoch(s)") + ", batch " + d.batchSize() + " per worker, lr " + d.lr());
    t = System.nanoTime();
    Trainer.Summary trained = TrainJob.run(spark, c, List.of());
    stages.add(new Stage("train", seconds(t), trained.bestCheckpoint()));
    if (trained.bestCheckpoint().isEmpty()) {
      throw new TextSparkException("the demo's training run wrote no checkpoint; see its output above.");
    }

    banner(out, 4, "evaluate", trained.bestCheckpoint());
    t = System.nanoTime();
    JsonObject evaluation = EvaluateJob.run(spark, c.with(List.of("evaluate.model=" + trained.bestCheckpoint())),
        out);
    stages.add(new Stage("evaluate", seconds(t), trained.bestCheckpoint()));

    banner(out, 5, "score", d.sampleRows() + " validation sentences as a table");
    t = System.nanoTime();
    DataLayout layout = new DataLayout(c.data().root());
    spark.read().parquet(layout.raw("validation").toString())
        .orderBy("idx").limit(d.sampleRows())
        .select(functions.col("idx"), functions.col("sentence").as("text"), functions.col("label"),
            functions.col("domain"))
        .write().mode(SaveMode.Overwrite).parquet(sample);
    ScoreJob.Report scoreReport = ScoreJob.run(spark, c.with(List.of("score.model=" + trained.bestCheckpoint())),
        out);
    stages.add(new Stage("score", seconds(t), scoreReport.output().toString()));
    List<Row> examples = spark.read().parquet(scored).orderBy("idx").limit(12)
        .select("text", "label", c.score().columns().prediction(), c.score().columns().score()).collectAsList();

    banner(out, 6, "export", "the best checkpoint as ONNX with int8 weights, then the sample scored with it");
    t = System.nanoTime();
    long agree = export(spark, c, trained.bestCheckpoint(), onnx, scoredOnnx, out);
    stages.add(new Stage("export", seconds(t), onnx + " (" + agree + " of " + scoreReport.rows()
        + " predictions as on PyTorch)"));

    banner(out, 7, "serve", "the best checkpoint over HTTP on 127.0.0.1: a few requests, then a graceful stop");
    t = System.nanoTime();
    String served = serve(c, trained.bestCheckpoint(), conf, out);
    stages.add(new Stage("serve", seconds(t), served));

    double total = seconds(started);
    PretrainedModel model = PretrainedModel.load(trained.bestCheckpoint(), c.model(), conf);
    String reportPath = new Path(root, "report.html").toString();
    writeReport(reportPath, conf, d, stages, total, run, evaluation, model.config().labels(), examples, c);

    JsonObject overall = evaluation.getAsJsonObject("overall");
    JsonObject summary = new JsonObject();
    summary.addProperty("seconds", total);
    summary.addProperty("best_checkpoint", trained.bestCheckpoint());
    summary.addProperty("val_mcc", overall.get("mcc").getAsDouble());
    summary.addProperty("val_accuracy", overall.get("accuracy").getAsDouble());
    summary.addProperty("scored_table", scoreReport.output().toString());
    summary.addProperty("scored_rows", scoreReport.rows());
    summary.addProperty("onnx_export", onnx);
    summary.addProperty("onnx_same_predictions", agree);
    summary.addProperty("report", reportPath);
    out.println();
    out.println("demo: done in " + String.format(Locale.ROOT, "%.0f", total) + " s");
    for (Stage s : stages) {
      out.printf(Locale.ROOT, "  %-9s %6.1f s   %s%n", s.name(), s.seconds(), s.output());
    }
    out.printf(Locale.ROOT, "  validation: accuracy %.4f, MCC %.4f (%d rows)%n", overall.get("accuracy").getAsDouble(),
        overall.get("mcc").getAsDouble(), overall.get("rows").getAsLong());
    out.println("  report: " + reportPath + "  (open it in a browser; it needs no network)");
    out.println(summary);
    return summary;
  }

  private static void writeReport(String path, Configuration conf, DemoConfig d, List<Stage> stages, double total,
      String run, JsonObject evaluation, List<String> labels, List<Row> examples, TextSparkConfig c) {
    List<List<String>> stageRows = new ArrayList<>();
    stageRows.add(List.of("stage", "seconds", "output"));
    for (Stage s : stages) {
      stageRows.add(List.of(s.name(), String.format(Locale.ROOT, "%.1f", s.seconds()), s.output()));
    }
    stageRows.add(List.of("total", String.format(Locale.ROOT, "%.1f", total), ""));
    List<List<String>> exampleRows = new ArrayList<>();
    exampleRows.add(List.of("sentence", "label", "prediction", "P(" + labels.get(labels.size() - 1) + ")"));
    for (Row r : examples) {
      exampleRows.add(List.of(r.getString(0), labels.get(r.getInt(1)), r.isNullAt(2) ? "" : r.getString(2),
          r.isNullAt(3) ? "" : String.format(Locale.ROOT, "%.3f", r.getDouble(3))));
    }
    String html = new HtmlReport("textspark demo: CoLA with " + c.model().name())
        .paragraph("download, tokenize, train (" + d.workers() + " workers), evaluate and score, on "
            + "local Spark. Validation: the 1043 sentences of CoLA's in-domain and out-of-domain dev sets.")
        .heading("Stages").table(stageRows)
        .heading("Training").trainingCurves(RunMetrics.read(run, conf))
        .heading("Evaluation of the best checkpoint").evaluation(evaluation, labels)
        .heading("Scored sample").table(exampleRows)
        .html();
    try {
      HadoopPaths.writeAtomically(new Path(path), html.getBytes(StandardCharsets.UTF_8), conf);
    } catch (IOException e) {
      throw new TextSparkException("cannot write the report " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Exports {@code checkpoint} with int8 weights to {@code onnx} ({@code textspark export --quantize
   * int8}), scores the demo's sample with the export ({@code score.engine} auto picks ONNX Runtime)
   * into {@code scoredOnnx}; returns on how many rows the export predicts what the checkpoint did.
   */
  private static long export(SparkSession spark, TextSparkConfig c, String checkpoint, String onnx,
      String scoredOnnx, PrintStream out) {
    ExportJob.run(c.with(List.of("export.model=" + checkpoint, "export.output=" + onnx, "export.quantize=int8",
        "export.overwrite=true")), out);
    ScoreJob.run(spark, c.with(List.of("score.model=" + onnx, "score.output=" + scoredOnnx)), out);
    String prediction = c.score().columns().prediction();
    Dataset<Row> pytorch = spark.read().parquet(c.score().output()).select(functions.col("idx"),
        functions.col(prediction).as("pytorch"));
    Dataset<Row> ort = spark.read().parquet(scoredOnnx).select(functions.col("idx"),
        functions.col(prediction).as("ort"));
    long agree = pytorch.join(ort, "idx").where(functions.col("pytorch").eqNullSafe(functions.col("ort"))).count();
    out.printf(Locale.ROOT, "  the int8 export predicts what the checkpoint did on %d of %d sample rows%n", agree,
        pytorch.count());
    return agree;
  }

  /**
   * Starts the prediction server of {@code textspark serve} on {@code checkpoint} in this JVM, sends
   * it a few requests (one malformed), prints the answers and stops it; returns what it did.
   */
  private static String serve(TextSparkConfig c, String checkpoint, Configuration conf, PrintStream out) {
    ScoreConfig s = c.score();
    InferenceSettings settings = new InferenceSettings(s.maxLength(), s.batchSize(), s.device(), 1);
    ServeConfig local = c.with(List.of("serve.host=127.0.0.1", "serve.port=0", "serve.threads=1")).serve();
    List<String> bodies = List.of("{\"text\": \"The book was written by John.\"}",
        "{\"texts\": [\"Books were sent to each other by the students.\", \"Him book the.\"]}",
        "{\"texts\": \"not a list\"}");
    int answered = 0;
    int port;
    try (Predictor predictor = Predictor.load(checkpoint, c.model(), settings, conf);
        PredictionServer server = new PredictionServer(predictor, local, s.scoreLabel(), ApiKeys.load("", null))) {
      server.start().warmUp();
      port = server.port();
      HttpClient http = HttpClient.newHttpClient();
      for (String body : bodies) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/classify"))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        out.println("  POST /v1/classify " + body);
        out.println("  -> " + response.statusCode() + " " + response.body());
        answered += response.statusCode() == 200 ? 1 : 0;
      }
    } catch (IOException e) {
      throw new TextSparkException("the demo's server did not answer: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TextSparkException("interrupted while the demo's server ran", e);
    }
    out.println("  server stopped after answering every request");
    return "http://127.0.0.1:" + port + ", " + answered + " of " + bodies.size() + " requests answered 200";
  }

  private static void banner(PrintStream out, int step, String stage, String what) {
    out.println();
    out.printf(Locale.ROOT, "demo [%d/7] %s: %s%n", step, stage, what);
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }
}
