package io.textspark.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
  @Test
  void pageNeedsNoNetworkAndCarriesTheMetricsAndTheConfusionMatrix() {
    RunMetrics metrics = new RunMetrics(
        List.of(Map.of("step", 1.0, "train/loss", 0.7), Map.of("step", 2.0, "train/loss", 0.6)),
        List.of(Map.of("step", 2.0, "val/loss", 0.62, "val/mcc", 0.21, "val/accuracy", 0.7, "val/f1", 0.8)));
    String evaluation = "{\"model\":\"m\",\"rows\":10,\"overall\":{\"rows\":10,\"loss\":0.5,\"accuracy\":0.7,"
        + "\"mcc\":0.21,\"f1\":0.8,\"confusion_matrix\":[[1,2],[1,6]]},\"in\":{\"rows\":6,\"loss\":0.4,"
        + "\"accuracy\":0.8333,\"mcc\":0.5,\"f1\":0.9,\"confusion_matrix\":[[1,1],[0,4]]}}";
    String html = new HtmlReport("demo <run>")
        .heading("Training").trainingCurves(metrics)
        .heading("Evaluation").evaluation(JsonParser.parseString(evaluation).getAsJsonObject(),
            List.of("unacceptable", "acceptable"))
        .html();
    assertTrue(html.contains("<title>demo &lt;run&gt;</title>"));
    assertEquals(3, count(html, "<svg "), "two curves and a confusion matrix");
    assertTrue(html.contains("<td>overall</td><td>10</td><td>0.5000</td><td>0.7000</td><td>0.2100</td>"));
    assertTrue(html.contains("<td>in</td><td>6</td>"));
    for (String cell : new String[] {">1<", ">2<", ">6<"}) {
      assertTrue(html.contains(cell), cell);
    }
    // Offline: the only URL is the SVG namespace, and nothing is loaded.
    Matcher urls = Pattern.compile("https?://[^\"]+").matcher(html);
    while (urls.find()) {
      assertEquals("http://www.w3.org/2000/svg", urls.group());
    }
    assertFalse(html.contains("<script") || html.contains("<link") || html.contains("<img"));
  }

  private static int count(String s, String part) {
    int n = 0;
    for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }
}
