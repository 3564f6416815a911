package io.textspark.inference;

import io.textspark.TextSparkException;
import io.textspark.compute.Compute;
import java.io.Serializable;

/**
 * How a {@link Predictor} runs its model, whatever command or server built it. Values are checked
 * here, so a bad one fails before any model is read.
 *
 * @param maxLength longest token sequence, [CLS] and [SEP] included; 0 for the length the model was
 *     trained with (a checkpoint's {@code tokenize.max_length}, else 128)
 * @param batchSize texts per model call, at least 1
 * @param device {@code auto}, {@code cpu} or {@code gpu} (see {@link Compute#device})
 * @param threads PyTorch threads per calling thread, or ONNX Runtime intra-op threads per session;
 *     0 for {@code spark.task.cpus} in a Spark task, every core elsewhere
 * @param engine {@code auto}, {@code pytorch} or {@code onnxruntime} (see {@link Engine})
 */
public record InferenceSettings(int maxLength, int batchSize, String device, int threads, String engine)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Settings with the engine {@code auto}. */
  public InferenceSettings(int maxLength, int batchSize, String device, int threads) {
    this(maxLength, batchSize, device, threads, "auto");
  }

  /** Checks every value, naming the setting and what it may be. */
  public InferenceSettings {
    if (maxLength < 0) {
      throw invalid("max_length", maxLength, "use 0 for the length the model was trained with, or a number of"
          + " tokens up to the model's max_position_embeddings");
    }
    if (batchSize < 1) {
      throw invalid("batch_size", batchSize, "use 1 or more texts per model call");
    }
    if (device == null || !Compute.DEVICES.contains(device)) {
      throw invalid("device", device, "use one of " + Compute.DEVICES);
    }
    if (threads < 0) {
      throw invalid("threads", threads, "use 0 for the task's cores (spark.task.cpus) or a number of threads");
    }
    if (engine == null || !Engine.NAMES.contains(engine)) {
      throw invalid("engine", engine, "use one of " + Engine.NAMES + " (auto: ONNX Runtime for an export folder"
          + " with model.onnx, PyTorch otherwise)");
    }
  }

  /** The engine choice. */
  public Engine engineChoice() {
    return Engine.parse(engine, "engine");
  }

  /** These settings with the engine {@code resolved}, as the driver resolved it for executors. */
  public InferenceSettings withEngine(Engine resolved) {
    return new InferenceSettings(maxLength, batchSize, device, threads, resolved.label());
  }

  /** These settings with the maximum length {@code resolved}, as the driver resolved it for executors. */
  public InferenceSettings withMaxLength(int resolved) {
    return new InferenceSettings(resolved, batchSize, device, threads, engine);
  }

  private static TextSparkException invalid(String key, Object value, String fix) {
    String shown = value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
    return new TextSparkException("invalid inference setting " + key + " = " + shown + " (score." + key
        + " for predict and score); " + fix + ".");
  }
}
