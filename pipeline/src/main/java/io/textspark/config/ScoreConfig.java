package io.textspark.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Settings of the {@code score} command, and of {@code predict} for the model, batch, length,
 * device and threads; every default is in {@code conf/textspark.conf}.
 *
 * @param input Parquet folder or catalog table to score; default empty (required by {@code score})
 * @param output folder the scored table is written to; default empty (required by {@code score})
 * @param textCol string column with the text; default {@code text}
 * @param model checkpoint folder, model folder or Hub name; empty (default) means the best
 *     checkpoint of {@code train.output_dir}
 * @param batchSize rows per model call; default 64
 * @param windowBatches batches per length-sorted window; default 16
 * @param maxLength longest token sequence, 0 for the checkpoint's {@code tokenize.max_length};
 *     default 0
 * @param device {@code auto}, {@code cpu} or {@code gpu}; default {@code auto}
 * @param engine {@code auto} (ONNX Runtime for an export folder with {@code model.onnx}, else
 *     PyTorch), {@code pytorch} or {@code onnxruntime}; default {@code auto}
 * @param threads PyTorch threads (ONNX Runtime intra-op threads) per task, 0 for {@code
 *     spark.task.cpus} (all cores outside Spark); default 0
 * @param partitions partitions to score in, 0 to keep the input's; default 0
 * @param overwrite replace an existing output; default false
 * @param columns the names of the output columns
 * @param scoreLabel label whose probability is the score, empty for the last label; default empty
 * @param progressEvery how often {@code score} prints rows done, the rate and the time left; zero
 *     for never; default 10 s
 */
public record ScoreConfig(
    String input,
    String output,
    String textCol,
    String model,
    int batchSize,
    int windowBatches,
    int maxLength,
    String device,
    String engine,
    int threads,
    int partitions,
    boolean overwrite,
    Columns columns,
    String scoreLabel,
    Duration progressEvery) {

  /**
   * Names of the columns scoring adds.
   *
   * @param prediction predicted label; default {@code prediction}
   * @param index predicted label's index; default {@code prediction_index}
   * @param probabilities every label's probability; default {@code probabilities}
   * @param score probability of the score label; default {@code score}
   * @param error why a row has no prediction; default {@code score_error}
   * @param truncated whether the text was truncated; default {@code score_truncated}
   */
  public record Columns(
      String prediction, String index, String probabilities, String score, String error, String truncated) {
    /** The names in a fixed order: prediction, index, probabilities, score, error, truncated. */
    public List<String> all() {
      return List.of(prediction, index, probabilities, score, error, truncated);
    }
  }

  /** Reads and validates the {@code score} section. */
  public static ScoreConfig from(Settings s) {
    Columns columns = new Columns(s.nonEmpty("prediction_col"), s.nonEmpty("index_col"),
        s.nonEmpty("probabilities_col"), s.nonEmpty("score_col"), s.nonEmpty("error_col"),
        s.nonEmpty("truncated_col"));
    Set<String> seen = new HashSet<>();
    List<String> keys = List.of("prediction_col", "index_col", "probabilities_col", "score_col", "error_col",
        "truncated_col");
    List<String> names = new ArrayList<>(columns.all());
    for (int i = 0; i < names.size(); i++) {
      if (!seen.add(names.get(i))) {
        throw new ConfigError(s.key(keys.get(i)), names.get(i),
            "every output column needs its own name, and another score.*_col already uses this one");
      }
    }
    return new ScoreConfig(
        s.string("input").trim(),
        s.string("output").trim(),
        s.nonEmpty("text_col"),
        s.string("model").trim(),
        s.intIn("batch_size", 1, 65_536),
        s.intIn("window_batches", 1, 100_000),
        s.intIn("max_length", 0, 512),
        s.oneOf("device", "auto", "cpu", "gpu"),
        s.oneOf("engine", "auto", "pytorch", "onnxruntime"),
        s.intIn("threads", 0, 1024),
        s.intIn("partitions", 0, 1_000_000),
        s.bool("overwrite"),
        columns,
        s.string("score_label").trim(),
        s.durationOrZero("progress_every"));
  }
}
