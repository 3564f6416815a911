package io.textspark.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricsLogTest {
  @Test
  void writesOneJsonObjectPerLine() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (MetricsLog log = new MetricsLog(out)) {
      Map<String, Double> train = new LinkedHashMap<>();
      train.put("loss", 0.5);
      train.put("lr", 2e-5);
      log.log(10, 0, "train", train);
      // Lines reach the stream before close, so a crashed job keeps them.
      assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("\n"));
      Map<String, Double> eval = new LinkedHashMap<>();
      eval.put("mcc", Double.NaN);
      eval.put("in/accuracy", 0.75);
      log.log(20, 1, "dev", eval);
    }
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(2, lines.size());
    assertEquals("{\"step\":10,\"epoch\":0,\"split\":\"train\",\"loss\":0.5,\"lr\":2.0E-5}",
        lines.get(0));
    JsonObject second = JsonParser.parseString(lines.get(1)).getAsJsonObject();
    assertEquals(20, second.get("step").getAsLong());
    assertEquals("dev", second.get("split").getAsString());
    assertTrue(second.get("mcc").isJsonNull());
    assertEquals(0.75, second.get("in/accuracy").getAsDouble(), 0);
  }
}
