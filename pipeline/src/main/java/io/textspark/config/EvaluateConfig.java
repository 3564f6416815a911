package io.textspark.config;

/**
 * Settings of the {@code evaluate} command.
 *
 * @param model checkpoint folder or model reference; empty means the best checkpoint of the run in
 *     {@code train.output_dir}; default empty
 * @param json print JSON instead of a table; default false
 * @param batchSize examples per batch; default 64
 */
public record EvaluateConfig(String model, boolean json, int batchSize) {
  /** Reads and validates the {@code evaluate} section. */
  public static EvaluateConfig from(Settings s) {
    return new EvaluateConfig(s.string("model").trim(), s.bool("json"), s.intIn("batch_size", 1, 65_536));
  }
}
