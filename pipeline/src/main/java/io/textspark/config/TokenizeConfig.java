package io.textspark.config;

/**
 * Settings of the {@code tokenize} stage.
 *
 * @param maxLength longest token sequence kept, [CLS] and [SEP] included; default 128, at most 512
 * @param partitions partitions (parallel tasks) to tokenize with; 0 (default) means the default parallelism
 */
public record TokenizeConfig(int maxLength, int partitions) {
  /** Reads and validates the {@code tokenize} section. */
  public static TokenizeConfig from(Settings s) {
    return new TokenizeConfig(s.intIn("max_length", 3, 512), s.intIn("partitions", 0, 100_000));
  }
}
