package io.textspark.config;

/**
 * Settings of the {@code predict} command beyond the model settings it shares with {@code score}.
 *
 * @param json print JSON instead of a table; default false
 */
public record PredictConfig(boolean json) {
  /** Reads and validates the {@code predict} section. */
  public static PredictConfig from(Settings s) {
    return new PredictConfig(s.bool("json"));
  }
}
