package io.textspark.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

class SvgTest {
  private static Document parse(String svg) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void lineChartIsWellFormedWithOnePolylinePerSeriesAndSkipsNonFinitePoints() throws Exception {
    String svg = Svg.lineChart("loss <&> \"curves\"", "step", "loss", List.of(
        new Svg.Series("train", new double[] {1, 2, 3}, new double[] {0.7, Double.NaN, 0.5}),
        new Svg.Series("val", new double[] {3}, new double[] {0.6})));
    Document doc = parse(svg);
    NodeList lines = doc.getElementsByTagName("polyline");
    assertEquals(2, lines.getLength());
    String points = lines.item(0).getAttributes().getNamedItem("points").getNodeValue();
    assertEquals(2, points.split(" ").length, points);
    assertTrue(svg.contains("loss &lt;&amp;&gt; &quot;curves&quot;"));
  }

  @Test
  void scatterChartDrawsEveryFinitePointAsADotWithoutLines() throws Exception {
    double[] x = new double[40];
    double[] y = new double[40];
    for (int i = 0; i < 40; i++) {
      x[i] = i;
      y[i] = i == 7 ? Double.NaN : i * 0.01;
    }
    Document doc = parse(Svg.scatterChart("mcc against lr", "lr", "mcc", List.of(new Svg.Series("completed", x, y),
        new Svg.Series("stopped", new double[] {1}, new double[] {0.2}))));
    assertEquals(0, doc.getElementsByTagName("polyline").getLength());
    assertEquals(39 + 1, doc.getElementsByTagName("circle").getLength(), "every point, even past 30 in a series");
  }

  @Test
  void emptyChartSaysSo() throws Exception {
    String svg = Svg.lineChart("t", "x", "y", List.of(new Svg.Series("s", new double[0], new double[0])));
    parse(svg);
    assertTrue(svg.contains("no data"));
  }

  @Test
  void barChartHasABarPerLabelWithHeightsInProportion() throws Exception {
    Document doc = parse(Svg.barChart("labels", "rows", List.of("a", "b"), new double[] {10, 40}));
    NodeList rects = doc.getElementsByTagName("rect");
    assertEquals(2, rects.getLength());
    double h0 = Double.parseDouble(rects.item(0).getAttributes().getNamedItem("height").getNodeValue());
    double h1 = Double.parseDouble(rects.item(1).getAttributes().getNamedItem("height").getNodeValue());
    assertEquals(4.0, h1 / h0, 0.02);
    assertThrows(IllegalArgumentException.class, () -> Svg.barChart("t", "y", List.of("a"), new double[] {1, 2}));
  }

  @Test
  void confusionMatrixPrintsEveryCount() throws Exception {
    String svg = Svg.confusionMatrix("validation", List.of("unacceptable", "acceptable"),
        new long[][] {{123, 199}, {45, 676}});
    Document doc = parse(svg);
    assertEquals(4, doc.getElementsByTagName("rect").getLength());
    for (String count : new String[] {">123<", ">199<", ">45<", ">676<"}) {
      assertTrue(svg.contains(count), count);
    }
  }

  @Test
  void ticksAreRoundAndCoverTheRange() {
    assertEquals(List.of(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), Svg.ticks(0, 1));
    assertEquals(List.of(100.0, 200.0, 300.0), Svg.ticks(55, 310));
  }

  @Test
  void seriesTakesTheRecordsThatHaveBothKeys() {
    Svg.Series s = Svg.series("mcc", List.of(Map.of("step", 1.0, "val/mcc", 0.1), Map.of("step", 2.0),
        Map.of("step", 3.0, "val/mcc", 0.3)), "step", "val/mcc");
    assertEquals(2, s.x().length);
    assertEquals(3.0, s.x()[1]);
    assertEquals(0.3, s.y()[1]);
  }
}
