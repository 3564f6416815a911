package io.textspark.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The numeric records of a run's {@code logs/metrics.jsonl}, split into training steps and
 * validations, for charts in the demo report and in notebooks.
 *
 * @param train one record per logged training step ({@code step}, {@code epoch}, {@code train/loss}, ...)
 * @param validation one record per validation ({@code step}, {@code val/mcc}, {@code in/accuracy}, ...)
 */
public record RunMetrics(List<Map<String, Double>> train, List<Map<String, Double>> validation) {

  /** Reads {@code <runDir>/logs/metrics.jsonl} from any Hadoop file system. */
  public static RunMetrics read(String runDir, Configuration conf) {
    Path file = new Path(runDir, "logs/metrics.jsonl");
    List<Map<String, Double>> train = new ArrayList<>();
    List<Map<String, Double>> validation = new ArrayList<>();
    try {
      FileSystem fs = file.getFileSystem(conf);
      try (BufferedReader in = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.isBlank()) {
            continue;
          }
          JsonObject o = JsonParser.parseString(line).getAsJsonObject();
          Map<String, Double> record = new LinkedHashMap<>();
          for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            JsonElement v = e.getValue();
            if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()) {
              record.put(e.getKey(), v.getAsDouble());
            }
          }
          String split = o.has("split") ? o.get("split").getAsString() : "";
          if (split.equals("train")) {
            train.add(record);
          } else if (split.equals("validation")) {
            validation.add(record);
          }
        }
      }
    } catch (IOException e) {
      throw new TextSparkException("cannot read " + file + ": " + e.getMessage() + ". Is " + runDir
          + " the output_dir of a training run?", e);
    }
    return new RunMetrics(train, validation);
  }
}
