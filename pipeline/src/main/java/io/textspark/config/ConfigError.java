package io.textspark.config;

import io.textspark.TextSparkException;

/** A configuration key that is unknown, of the wrong type or out of range. */
public final class ConfigError extends TextSparkException {
  private static final long serialVersionUID = 1L;

  /** Creates the error for one key, naming its value and what is allowed. */
  public ConfigError(String key, Object value, String allowed) {
    super("invalid configuration: " + key + " = " + render(value) + "; " + allowed + ".");
  }

  /** Creates an error whose message is already complete. */
  public ConfigError(String message) {
    super(message);
  }

  private static String render(Object value) {
    return value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
  }
}
