package io.textspark.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the numbers of a Hugging Face {@code config.json}, for every family: a missing or null
 * key takes the family's default, and a value of the wrong kind is refused naming the file, the
 * key and what is allowed.
 */
public final class ConfigJson {
  /** The labels used when the config names none: the CoLA acceptability classes. */
  public static final List<String> DEFAULT_LABELS = List.of("unacceptable", "acceptable");

  private ConfigJson() {}

  /** The JSON object of a {@code config.json}; refuses anything else naming {@code source}. */
  public static JsonObject object(String json, String source) {
    try {
      JsonElement parsed = JsonParser.parseString(json);
      if (!parsed.isJsonObject()) {
        throw new TextSparkException(source + " is not a JSON object; expected a Hugging Face config.json.");
      }
      return parsed.getAsJsonObject();
    } catch (JsonParseException e) {
      throw new TextSparkException(
          source + " is not valid JSON (" + e.getMessage() + "); expected a Hugging Face config.json.", e);
    }
  }

  /** {@code key} as a string, or {@code fallback} when absent. */
  public static String string(JsonObject o, String key, String fallback, String source) {
    if (!o.has(key) || o.get(key).isJsonNull()) {
      return fallback;
    }
    JsonElement value = o.get(key);
    if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
      throw new TextSparkException(source + ": " + key + " = " + value + " is not a string; allowed: a string.");
    }
    return value.getAsString();
  }

  /** {@code key} as a boolean, or {@code fallback} when absent. */
  public static boolean bool(JsonObject o, String key, boolean fallback, String source) {
    if (!o.has(key) || o.get(key).isJsonNull()) {
      return fallback;
    }
    JsonElement value = o.get(key);
    if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isBoolean()) {
      throw new TextSparkException(source + ": " + key + " = " + value + " is not a boolean; allowed: true, false.");
    }
    return value.getAsBoolean();
  }

  /**
   * The label names of {@code id2label} indexed by class id; without it, {@code num_labels}
   * generated names ({@code LABEL_0}...), or {@link #DEFAULT_LABELS} when that is 2 or absent.
   */
  public static List<String> labels(JsonObject o, String source) {
    int numLabels = o.has("num_labels") ? integer(o, "num_labels", 2, source) : -1;
    if (o.has("id2label") && o.get("id2label").isJsonObject()) {
      Map<Integer, String> byId = new TreeMap<>();
      for (Map.Entry<String, JsonElement> e : o.getAsJsonObject("id2label").entrySet()) {
        try {
          byId.put(Integer.parseInt(e.getKey()), e.getValue().getAsString());
        } catch (NumberFormatException | IllegalStateException | UnsupportedOperationException ex) {
          throw new TextSparkException(source + ": id2label entry \"" + e.getKey()
              + "\" is invalid; allowed: string keys 0..n-1 mapping to label names.", ex);
        }
      }
      List<String> result = new ArrayList<>(byId.values());
      for (int i = 0; i < result.size(); i++) {
        if (!byId.containsKey(i)) {
          throw new TextSparkException(source + ": id2label keys " + byId.keySet() + " are invalid; allowed: exactly"
              + " 0.." + (byId.size() - 1) + ".");
        }
      }
      if (numLabels >= 0 && numLabels != result.size()) {
        throw new TextSparkException(source + ": num_labels = " + numLabels + " disagrees with id2label, which has "
            + result.size() + " entries; allowed: num_labels equal to the size of id2label.");
      }
      return result;
    }
    if (numLabels < 0 || numLabels == DEFAULT_LABELS.size()) {
      return DEFAULT_LABELS;
    }
    if (numLabels < 1) {
      throw new TextSparkException(source + ": num_labels = " + numLabels + " is invalid; allowed: >= 1.");
    }
    List<String> generated = new ArrayList<>();
    for (int i = 0; i < numLabels; i++) {
      generated.add("LABEL_" + i);
    }
    return generated;
  }

  /** Refuses a value that is not positive, naming the key. */
  public static void positive(String source, String key, int value) {
    if (value <= 0) {
      throw new TextSparkException(source + ": " + key + " = " + value + " is invalid; allowed: > 0.");
    }
  }

  /** Refuses a dropout probability outside [0, 1), naming the key. */
  public static void probability(String source, String key, double value) {
    if (!(value >= 0 && value < 1)) {
      throw new TextSparkException(source + ": " + key + " = " + value + " is invalid; allowed: 0 <= p < 1.");
    }
  }

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
