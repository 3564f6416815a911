package io.textspark.config;

/**
 * Settings of the scoring benchmark ({@code bench-score}).
 *
 * @param rows rows the CoLA validation set is replicated to; default 100000
 * @param workDir folder for the benchmark's tables, empty for a temporary one; default empty
 */
public record BenchConfig(long rows, String workDir) {
  /** Reads and validates the {@code bench} section. */
  public static BenchConfig from(Settings s) {
    return new BenchConfig(s.longIn("rows", 1, 1_000_000_000L), s.string("work_dir").trim());
  }
}
