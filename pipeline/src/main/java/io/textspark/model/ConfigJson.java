package io.textspark.model;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import java.math.BigDecimal;

/**
 * Reads the numbers of a Hugging Face {@code config.json}, for every family: a missing or null
 * key takes the family's default, and a value of the wrong kind is refused naming the file, the
 * key and what is allowed.
 */
public final class ConfigJson {
  private ConfigJson() {}

  /** {@code key} as a whole number, or {@code fallback} when absent. */
  public static int integer(JsonObject o, String key, int fallback, String source) {
    BigDecimal v = decimal(o, key, source, "an integer; allowed: a whole number");
    if (v == null) {
      return fallback;
    }
    try {
      return v.intValueExact();
    } catch (ArithmeticException e) {
      throw refused(o, key, source, "an integer; allowed: a whole number", e);
    }
  }

  /** {@code key} as a number, or {@code fallback} when absent. */
  public static double number(JsonObject o, String key, double fallback, String source) {
    BigDecimal v = decimal(o, key, source, "a number; allowed: a number");
    return v == null ? fallback : v.doubleValue();
  }

  private static BigDecimal decimal(JsonObject o, String key, String source, String expected) {
    if (!o.has(key) || o.get(key).isJsonNull()) {
      return null;
    }
    try {
      return o.get(key).getAsJsonPrimitive().getAsBigDecimal();
    } catch (RuntimeException e) {
      throw refused(o, key, source, expected, e);
    }
  }

  private static TextSparkException refused(JsonObject o, String key, String source, String expected, Exception e) {
    return new TextSparkException(source + ": " + key + " = " + o.get(key) + " is not " + expected + ".", e);
  }
}
