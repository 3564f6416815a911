package io.textspark.jobs;

import io.textspark.bench.TrainBenchmark;
import io.textspark.config.TextSparkConfig;
import io.textspark.demo.DemoJob;
import io.textspark.evaluate.EvaluateJob;
import io.textspark.train.TrainJob;
import io.textspark.tune.TuneJob;
import java.util.List;
import java.util.Map;

/** The {@code train}, {@code tune}, {@code evaluate}, {@code bench-train} and {@code demo} commands. */
final class TrainCommands {
  private TrainCommands() {}

  /** {@code textspark train}. */
  static final class Train implements Command {
    @Override
    public String name() {
      return "train";
    }

    @Override
    public String summary() {
      return "fine-tune the model on tokenized/train, validating on tokenized/validation";
    }

    @Override
    public List<String> sections() {
      return List.of("train", "model", "data", "tracking");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--model", "model.name", true, "pretrained model (Hub name or folder)"),
          new Flag("--output", "train.output_dir", true, "run folder for checkpoints/ and logs/"),
          new Flag("--resume", "train.resume_from", true, "continue from last, best or a checkpoint path"),
          new Flag("--fast-dev-run", "train.fast_dev_run", false, "one train and one validation batch, no output"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      TrainJob.run(Spark.session(name()), config, List.of());
      return 0;
    }
  }

  /** {@code textspark tune}. */
  static final class Tune implements Command {
    @Override
    public String name() {
      return "tune";
    }

    @Override
    public String summary() {
      return "hyper-parameter search: trials in parallel as Spark tasks, bad ones stopped early (ASHA)";
    }

    @Override
    public List<String> sections() {
      return List.of("tune", "train", "model", "tokenize", "data");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--output", "tune.output_dir", true, "tune folder: trials/, trials table, best/, report.html"),
          new Flag("--resume", "tune.resume", false, "continue the tune in tune.output_dir"),
          new Flag("--overwrite", "tune.overwrite", false, "replace an existing tune folder"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      TuneJob.run(Spark.session(name()), config);
      return 0;
    }
  }

  /** {@code textspark evaluate}. */
  static final class Evaluate implements Command {
    @Override
    public String name() {
      return "evaluate";
    }

    @Override
    public String summary() {
      return "loss, accuracy, MCC, F1 and confusion matrix of a checkpoint on tokenized/validation";
    }

    @Override
    public List<String> sections() {
      return List.of("evaluate", "data", "model");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--model", "evaluate.model", true, "checkpoint folder (default: best of train.output_dir)"),
          new Flag("--json", "evaluate.json", false, "print JSON"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      EvaluateJob.run(Spark.session(name()), config, System.out);
      return 0;
    }
  }

  /** {@code textspark bench-train}. */
  static final class BenchTrain implements Command {
    @Override
    public String name() {
      return "bench-train";
    }

    @Override
    public String summary() {
      return "training throughput (and with --full, MCC and memory per epoch) next to plain PyTorch";
    }

    @Override
    public List<String> sections() {
      return List.of("bench", "train", "model", "data");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--steps", "bench.train.steps", true, "optimizer steps timed on each side"),
          new Flag("--full", "bench.train.full", false, "also train the whole recipe on both sides"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) throws Exception {
      TrainBenchmark.run(Spark.session(name()), config);
      return 0;
    }
  }

  /** {@code textspark demo}. */
  static final class Demo implements Command {
    @Override
    public String name() {
      return "demo";
    }

    @Override
    public String summary() {
      return "download, tokenize, train (2 workers), evaluate and score on local Spark; ends with an HTML report";
    }

    @Override
    public List<String> sections() {
      return List.of("demo", "data", "model");
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      DemoJob.run(Spark.session(name()), config, System.out);
      return 0;
    }
  }
}
