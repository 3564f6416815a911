package io.textspark.jobs;

import io.textspark.bench.ScoreBenchmark;
import io.textspark.config.TextSparkConfig;
import io.textspark.inference.PredictJob;
import io.textspark.score.ScoreJob;
import java.util.List;
import java.util.Map;

/** The {@code score}, {@code predict} and {@code bench-score} commands. */
final class ScoreCommands {
  private static final Command.Flag MODEL = new Command.Flag("--model", "score.model", true,
      "checkpoint or ONNX export folder (default: best checkpoint of train.output_dir)");
  /** {@code --engine}, shared with {@code serve}. */
  static final Command.Flag ENGINE = new Command.Flag("--engine", "score.engine", true,
      "auto (ONNX Runtime for an export folder with model.onnx, else PyTorch), pytorch or onnxruntime");
  private static final Command.Flag BATCH = new Command.Flag("--batch-size", "score.batch_size", true,
      "rows per model call");

  private ScoreCommands() {}

  /** {@code textspark score}. */
  static final class Score implements Command {
    @Override
    public String name() {
      return "score";
    }

    @Override
    public String summary() {
      return "add predictions of a checkpoint to every row of a Parquet table or catalog table";
    }

    @Override
    public List<String> sections() {
      return List.of("score", "model");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--input", "score.input", true, "Parquet folder or catalog table to score"),
          new Flag("--output", "score.output", true, "folder for the scored Parquet table"),
          new Flag("--text-col", "score.text_col", true, "string column with the text"),
          MODEL,
          ENGINE,
          BATCH,
          new Flag("--overwrite", "score.overwrite", false, "replace an existing output"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      ScoreJob.run(Spark.session(name()), config, System.out);
      return 0;
    }
  }

  /** {@code textspark predict}: no Spark session is started. */
  static final class Predict implements Command {
    @Override
    public String name() {
      return "predict";
    }

    @Override
    public String summary() {
      return "print both labels' probabilities for a few sentences, without starting Spark";
    }

    @Override
    public List<String> sections() {
      return List.of("predict", "score", "model");
    }

    @Override
    public List<Flag> flags() {
      return List.of(MODEL, ENGINE, new Flag("--json", "predict.json", false, "print JSON"));
    }

    @Override
    public String positional() {
      return "SENTENCE...";
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      PredictJob.run(config, positional, System.out);
      return 0;
    }
  }

  /** {@code textspark bench-score}: see {@link ScoreBenchmark}. */
  static final class BenchScore implements Command {
    @Override
    public String name() {
      return "bench-score";
    }

    @Override
    public String summary() {
      return "score CoLA validation replicated to bench.score.rows rows on PyTorch and ONNX Runtime (fp32, int8)"
          + " next to PyTorch eager; print rows/s, MCC and the share of the fp32 compute limit";
    }

    @Override
    public List<String> sections() {
      return List.of("bench", "score", "data", "export");
    }

    @Override
    public List<Flag> flags() {
      return List.of(new Flag("--rows", "bench.score.rows", true, "rows to score"), MODEL, BATCH,
          new Flag("--engines", "bench.score.engines", true, "sides to time: pytorch,onnxruntime,onnxruntime-int8"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      ScoreBenchmark.run(Spark.session(name()), config, System.out);
      return 0;
    }
  }
}
