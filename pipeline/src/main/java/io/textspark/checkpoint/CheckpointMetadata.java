package io.textspark.checkpoint;

import com.google.gson.JsonObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a checkpoint records about the training state besides its files: the epoch, the global
 * step, the metrics at that point, and anything else the trainer wants to keep.
 *
 * @param epoch the epoch the checkpoint was taken in (0-based or 1-based, as the trainer counts)
 * @param globalStep the number of optimizer steps taken so far; checkpoints are ordered by it
 * @param metrics metric name to value; NaN and infinities are allowed and survive the round trip
 * @param extra any further trainer state (e.g. the RNG seed or the config hash)
 */
public record CheckpointMetadata(int epoch, long globalStep, Map<String, Double> metrics, JsonObject extra) {
  /** Copies the arguments so that a checkpoint's metadata cannot change after it is written. */
  public CheckpointMetadata {
    if (globalStep < 0) {
      throw new IllegalArgumentException("globalStep must be >= 0, got " + globalStep);
    }
    Map<String, Double> copy = new LinkedHashMap<>();
    for (Map.Entry<String, Double> e : (metrics == null ? Map.<String, Double>of() : metrics).entrySet()) {
      copy.put(Objects.requireNonNull(e.getKey(), "metric name"),
          Objects.requireNonNull(e.getValue(), () -> "value of metric " + e.getKey()));
    }
    metrics = Collections.unmodifiableMap(copy);
    extra = extra == null ? new JsonObject() : extra.deepCopy();
  }

  /** Metadata without extra state. */
  public static CheckpointMetadata of(int epoch, long globalStep, Map<String, Double> metrics) {
    return new CheckpointMetadata(epoch, globalStep, metrics, null);
  }

  /** A copy of the extra state, so callers cannot change the stored one by accident. */
  @Override
  public JsonObject extra() {
    return extra.deepCopy();
  }
}
