package io.textspark.tracking;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a training run tells its tracker besides metrics: its default name, its tags and its
 * parameters. Built on the driver and shipped with the task to wherever rank 0 runs.
 *
 * @param name run name used when {@code tracking.mlflow.run_name} is empty
 * @param tags run tags (checksums, versions, the Spark application)
 * @param params run parameters (the resolved configuration, flattened)
 */
public record RunDescription(String name, Map<String, String> tags, Map<String, String> params)
    implements Serializable {
  /** Copies the maps, sorted by key. */
  public RunDescription {
    tags = new TreeMap<>(tags);
    params = new TreeMap<>(params);
  }

  /** A configuration rendered as JSON, flattened to dotted keys ({@code train.lr} to {@code 1.0E-4}). */
  public static Map<String, String> flatten(String json) {
    Map<String, String> out = new TreeMap<>();
    flatten("", JsonParser.parseString(json), out);
    return out;
  }

  private static void flatten(String prefix, JsonElement e, Map<String, String> out) {
    if (e.isJsonObject()) {
      JsonObject o = e.getAsJsonObject();
      if (o.size() == 0 && !prefix.isEmpty()) {
        out.put(prefix, "{}");
      }
      for (Map.Entry<String, JsonElement> m : o.entrySet()) {
        flatten(prefix.isEmpty() ? m.getKey() : prefix + "." + m.getKey(), m.getValue(), out);
      }
    } else if (e.isJsonNull()) {
      out.put(prefix, "null");
    } else if (e.isJsonPrimitive()) {
      out.put(prefix, e.getAsString());
    } else {
      out.put(prefix, e.toString());
    }
  }
}
