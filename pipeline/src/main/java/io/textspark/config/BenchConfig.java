package io.textspark.config;

/**
 * Settings of the benchmark commands, one subsection each; every default is in
 * {@code conf/textspark.conf}.
 *
 * @param train {@code bench-train}: textspark against plain PyTorch on the same batches
 * @param score {@code bench-score}: scoring a replicated CoLA validation table
 */
public record BenchConfig(Train train, Score score) {
  /**
   * Settings of {@code bench-train}.
   *
   * @param steps optimizer steps timed on each side; default 60
   * @param full whether to also train the whole recipe on both sides; default false
   * @param python Python interpreter that has torch; default "python3"
   * @param script the PyTorch baseline script; default "bench/pytorch_bert.py"
   * @param workDir local folder for exported data and runs; default "runs/bench"
   */
  public record Train(int steps, boolean full, String python, String script, String workDir) {}

  /**
   * Settings of {@code bench-score}.
   *
   * @param rows rows the CoLA validation set is replicated to; default 100000
   * @param workDir folder for the benchmark's tables, empty for a temporary one; default empty
   * @param pytorch also time plain PyTorch inference on the same rows with {@code train.python}
   *     and {@code train.script}; default true
   */
  public record Score(long rows, String workDir, boolean pytorch) {}

  /** Reads and validates the {@code bench} section. */
  public static BenchConfig from(Settings s) {
    return new BenchConfig(
        new Train(s.intIn("train.steps", 6, 1_000_000), s.bool("train.full"), s.nonEmpty("train.python"),
            s.nonEmpty("train.script"), s.nonEmpty("train.work_dir")),
        new Score(s.longIn("score.rows", 1, 1_000_000_000L), s.string("score.work_dir").trim(),
            s.bool("score.pytorch")));
  }
}
