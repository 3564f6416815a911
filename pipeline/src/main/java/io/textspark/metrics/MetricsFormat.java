package io.textspark.metrics;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Metrics as JSON and as one console line, written the same way by train, evaluate and the reports. */
public final class MetricsFormat {
  private MetricsFormat() {}

  /** Metrics as a flat JSON object. */
  public static JsonObject json(Map<String, Double> metrics) {
    JsonObject o = new JsonObject();
    metrics.forEach(o::addProperty);
    return o;
  }

  /** A confusion matrix as nested JSON arrays, rows by true label. */
  public static JsonArray confusionJson(long[][] cm) {
    JsonArray rows = new JsonArray();
    for (long[] row : cm) {
      JsonArray r = new JsonArray();
      for (long v : row) {
        r.add(v);
      }
      rows.add(r);
    }
    return rows;
  }

  /** Metrics on one line: {@code val/loss 0.52 val/accuracy 0.79 val/mcc 0.41 ...}. */
  public static String line(Map<String, Double> metrics) {
    if (metrics == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (String key : List.of("val/loss", "val/accuracy", "val/mcc", "val/f1", "in/mcc", "out/mcc")) {
      Double v = metrics.get(key);
      if (v != null) {
        sb.append(sb.length() == 0 ? "" : "  ").append(String.format(Locale.ROOT, "%s %.4f", key, v));
      }
    }
    return sb.toString();
  }
}
