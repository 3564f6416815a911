package io.textspark.jobs;

import io.textspark.config.TextSparkConfig;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import java.util.List;
import java.util.Map;

/** The {@code download} and {@code tokenize} commands. */
final class DataCommands {
  private static final Command.Flag OVERWRITE =
      new Command.Flag("--overwrite", "data.overwrite", false, "redo the stage even if its output is up to date");

  private DataCommands() {}

  /** {@code textspark download}. */
  static final class Download implements Command {
    @Override
    public String name() {
      return "download";
    }

    @Override
    public String summary() {
      return "fetch the CoLA zip and write raw/{train,validation,rejects} Parquet under data.root";
    }

    @Override
    public List<String> sections() {
      return List.of("data");
    }

    @Override
    public List<Flag> flags() {
      return List.of(OVERWRITE);
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      DownloadJob.run(Spark.session(name()), config);
      return 0;
    }
  }

  /** {@code textspark tokenize}. */
  static final class Tokenize implements Command {
    @Override
    public String name() {
      return "tokenize";
    }

    @Override
    public String summary() {
      return "tokenize raw/* with the model's tokenizer into tokenized/{train,validation} Parquet";
    }

    @Override
    public List<String> sections() {
      return List.of("data", "model", "tokenize");
    }

    @Override
    public List<Flag> flags() {
      return List.of(OVERWRITE, new Flag("--model", "model.name", true, "model reference (Hub name or folder)"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      TokenizeJob.run(Spark.session(name()), config);
      return 0;
    }
  }
}
