package io.textspark.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings of the benchmark commands, one subsection each; every default is in
 * {@code conf/textspark.conf}.
 *
 * @param train {@code bench-train}: textspark against plain PyTorch on the same batches
 * @param score {@code bench-score}: scoring a replicated CoLA validation table
 * @param serve {@code bench-serve}: the prediction server against a Flask server
 */
public record BenchConfig(Train train, Score score, Serve serve) {
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
   * @param engines textspark's sides, in order: {@code pytorch} (the checkpoint), {@code
   *     onnxruntime} (its fp32 ONNX export), {@code onnxruntime-int8} (its int8 export); default all three
   */
  public record Score(long rows, String workDir, boolean pytorch, List<String> engines) {
    /** The values {@code bench.score.engines} may list. */
    public static final List<String> ENGINES = List.of("pytorch", "onnxruntime", "onnxruntime-int8");
  }

  /**
   * Settings of {@code bench-serve}.
   *
   * @param requests timed requests of one text per concurrency level and server; default 1000
   * @param concurrency client counts, each a level of the table; default 1, 8, 32
   * @param flask also run the Flask server ({@code train.python}) on the same model; default true
   * @param script the Flask server script; default "bench/flask_server.py"
   */
  public record Serve(int requests, List<Integer> concurrency, boolean flask, String script) {}

  /** Reads and validates the {@code bench} section. */
  public static BenchConfig from(Settings s) {
    return new BenchConfig(
        new Train(s.intIn("train.steps", 6, 1_000_000), s.bool("train.full"), s.nonEmpty("train.python"),
            s.nonEmpty("train.script"), s.nonEmpty("train.work_dir")),
        new Score(s.longIn("score.rows", 1, 1_000_000_000L), s.string("score.work_dir").trim(),
            s.bool("score.pytorch"), engines(s, "score.engines")),
        new Serve(s.intIn("serve.requests", 1, 10_000_000), counts(s, "serve.concurrency"), s.bool("serve.flask"),
            s.nonEmpty("serve.script")));
  }

  private static List<String> engines(Settings s, String name) {
    List<String> out = new ArrayList<>();
    for (String part : s.nonEmpty(name).split(",")) {
      String engine = part.trim().toLowerCase(java.util.Locale.ROOT);
      if (!Score.ENGINES.contains(engine) || out.contains(engine)) {
        throw new ConfigError(s.key(name), s.string(name), "a comma-separated list of distinct sides from "
            + String.join(", ", Score.ENGINES) + " is expected, for example \"pytorch,onnxruntime,onnxruntime-int8\"");
      }
      out.add(engine);
    }
    return List.copyOf(out);
  }

  private static List<Integer> counts(Settings s, String name) {
    List<Integer> out = new ArrayList<>();
    for (String part : s.nonEmpty(name).split(",")) {
      int n;
      try {
        n = Integer.parseInt(part.trim());
      } catch (NumberFormatException e) {
        n = 0;
      }
      if (n < 1 || n > 4096) {
        throw new ConfigError(s.key(name), s.string(name), "a comma-separated list of client counts from 1 to 4096"
            + " is expected, for example \"1,8,32\"");
      }
      out.add(n);
    }
    return List.copyOf(out);
  }
}
