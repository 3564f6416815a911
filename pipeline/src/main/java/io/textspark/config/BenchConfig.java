package io.textspark.config;

/**
 * Settings of the benchmark commands, which compare textspark with plain PyTorch in Python.
 *
 * @param trainSteps optimizer steps timed by {@code bench-train}'s throughput phase; default 60
 * @param full whether {@code bench-train} also trains the whole recipe on both sides; default false
 * @param python Python interpreter that has torch; default "python3"
 * @param script the PyTorch baseline script; default "bench/pytorch_bert.py"
 * @param workDir local folder for exported data and runs; default "runs/bench"
 */
public record BenchConfig(int trainSteps, boolean full, String python, String script, String workDir) {
  /** Reads and validates the {@code bench} section. */
  public static BenchConfig from(Settings s) {
    return new BenchConfig(s.intIn("train_steps", 6, 1_000_000), s.bool("full"), s.nonEmpty("python"),
        s.nonEmpty("script"), s.nonEmpty("work_dir"));
  }
}
