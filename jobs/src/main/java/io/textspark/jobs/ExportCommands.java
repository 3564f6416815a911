package io.textspark.jobs;

import io.textspark.config.TextSparkConfig;
import io.textspark.export.ExportJob;
import java.util.List;
import java.util.Map;

/** The {@code export} command: a fine-tuned model as an ONNX folder, without Spark. */
final class ExportCommands {
  private ExportCommands() {}

  /** {@code textspark export}: see {@link ExportJob}. */
  static final class Export implements Command {
    @Override
    public String name() {
      return "export";
    }

    @Override
    public String summary() {
      return "write a fine-tuned model as an ONNX folder (model.onnx, tokenizer.json, config.json), fp32 or int8";
    }

    @Override
    public List<String> sections() {
      return List.of("export", "model");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--model", "export.model", true, "checkpoint folder, model folder or Hub name"
              + " (default: best of train.output_dir)"),
          new Flag("--output", "export.output", true, "folder to write the export to"),
          new Flag("--quantize", "export.quantize", true, "none (fp32) or int8"),
          new Flag("--overwrite", "export.overwrite", false, "replace an existing output"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) {
      ExportJob.run(config, System.out);
      return 0;
    }
  }
}
