package io.textspark.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A one-page HTML report that opens offline: headings, tables and inline SVG charts, with no script,
 * no external style sheet, font or image. The demo writes one at the end of its run.
 */
public final class HtmlReport {
  private final StringBuilder body = new StringBuilder();
  private final String title;

  /** Starts a report with this page title. */
  public HtmlReport(String title) {
    this.title = title;
  }

  /** Adds a section heading. */
  public HtmlReport heading(String text) {
    body.append("<h2>").append(Svg.escape(text)).append("</h2>\n");
    return this;
  }

  /** Adds a paragraph of plain text. */
  public HtmlReport paragraph(String text) {
    body.append("<p>").append(Svg.escape(text)).append("</p>\n");
    return this;
  }

  /** Adds a table: the first row is the header. */
  public HtmlReport table(List<List<String>> rows) {
    body.append("<table>\n");
    for (int r = 0; r < rows.size(); r++) {
      body.append("<tr>");
      for (String cell : rows.get(r)) {
        String tag = r == 0 ? "th" : "td";
        body.append('<').append(tag).append('>').append(Svg.escape(cell)).append("</").append(tag).append('>');
      }
      body.append("</tr>\n");
    }
    body.append("</table>\n");
    return this;
  }

  /** Adds an SVG chart made by {@link Svg}. */
  public HtmlReport svg(String svg) {
    body.append("<div class=\"chart\">").append(svg).append("</div>\n");
    return this;
  }

  /** Adds the training curves of a run: loss per step, and validation metrics per validation. */
  public HtmlReport trainingCurves(RunMetrics metrics) {
    svg(Svg.lineChart("training loss", "step", "loss", List.of(
        Svg.series("train loss", metrics.train(), "step", "train/loss"),
        Svg.series("validation loss", metrics.validation(), "step", "val/loss"))));
    svg(Svg.lineChart("validation", "step", "metric", List.of(
        Svg.series("MCC", metrics.validation(), "step", "val/mcc"),
        Svg.series("accuracy", metrics.validation(), "step", "val/accuracy"),
        Svg.series("F1", metrics.validation(), "step", "val/f1"))));
    return this;
  }

  /**
   * Adds the metrics of an {@code evaluate} result (overall and per domain) as a table, and the
   * overall confusion matrix as a chart.
   */
  public HtmlReport evaluation(JsonObject evaluation, List<String> labels) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("split", "rows", "loss", "accuracy", "MCC", "F1"));
    for (Map.Entry<String, JsonElement> e : evaluation.entrySet()) {
      if (!e.getValue().isJsonObject()) {
        continue;
      }
      JsonObject part = e.getValue().getAsJsonObject();
      rows.add(List.of(e.getKey(), part.get("rows").getAsString(), fixed(part, "loss"), fixed(part, "accuracy"),
          fixed(part, "mcc"), fixed(part, "f1")));
    }
    table(rows);
    JsonArray cm = evaluation.getAsJsonObject("overall").getAsJsonArray("confusion_matrix");
    long[][] counts = new long[cm.size()][];
    for (int i = 0; i < cm.size(); i++) {
      JsonArray row = cm.get(i).getAsJsonArray();
      counts[i] = new long[row.size()];
      for (int j = 0; j < row.size(); j++) {
        counts[i][j] = row.get(j).getAsLong();
      }
    }
    return svg(Svg.confusionMatrix("confusion matrix (validation)", labels, counts));
  }

  /** The page. */
  public String html() {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + Svg.escape(title)
        + "</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;"
        + "text-align:left}th{background:#f0f0f0}.chart{margin:1em 0}</style></head>\n<body>\n<h1>"
        + Svg.escape(title) + "</h1>\n" + body + "</body></html>\n";
  }

  private static String fixed(JsonObject o, String key) {
    return o.has(key) && !o.get(key).isJsonNull()
        ? String.format(Locale.ROOT, "%.4f", o.get(key).getAsDouble()) : "";
  }
}
