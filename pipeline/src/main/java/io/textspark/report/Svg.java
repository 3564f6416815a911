package io.textspark.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Small self-contained SVG charts (line chart, bar chart, confusion matrix) for the demo's HTML
 * report and the notebooks: plain markup with no script and no external font or style, so a page
 * that inlines them opens in any browser without network.
 */
public final class Svg {
  private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  private static final int WIDTH = 560;
  private static final int HEIGHT = 300;
  private static final int LEFT = 60;
  private static final int RIGHT = 130;
  private static final int TOP = 30;
  private static final int BOTTOM = 45;

  private Svg() {}

  /** One named line of a {@link #lineChart}: x and y of equal length. */
  public record Series(String name, double[] x, double[] y) {
    /** Checks that x and y pair up. */
    public Series {
      if (x.length != y.length) {
        throw new IllegalArgumentException("series " + name + " has " + x.length + " x values but " + y.length
            + " y values");
      }
    }
  }

  /** A line chart of one or more series sharing the axes; points that are not finite are skipped. */
  public static String lineChart(String title, String xLabel, String yLabel, List<Series> series) {
    return plot(title, xLabel, yLabel, series, true);
  }

  /** A scatter plot: every series' points as dots in its colour, without lines; the legend names the series. */
  public static String scatterChart(String title, String xLabel, String yLabel, List<Series> series) {
    return plot(title, xLabel, yLabel, series, false);
  }

  private static String plot(String title, String xLabel, String yLabel, List<Series> series, boolean lines) {
    double minX = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    double minY = Double.POSITIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (int i = 0; i < s.x().length; i++) {
        if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
          minX = Math.min(minX, s.x()[i]);
          maxX = Math.max(maxX, s.x()[i]);
          minY = Math.min(minY, s.y()[i]);
          maxY = Math.max(maxY, s.y()[i]);
        }
      }
    }
    StringBuilder svg = open(title);
    if (minX > maxX) {
      svg.append(text(WIDTH / 2.0, HEIGHT / 2.0, "no data", "middle", 12));
      return svg.append("</svg>").toString();
    }
    if (maxX == minX) {
      maxX = minX + 1;
    }
    if (maxY == minY) {
      maxY = minY + 1;
    }
    double padY = (maxY - minY) * 0.05;
    minY -= padY;
    maxY += padY;
    axes(svg, xLabel, yLabel, minX, maxX, minY, maxY);
    int k = 0;
    for (Series s : series) {
      String color = COLORS[k % COLORS.length];
      StringBuilder points = new StringBuilder();
      for (int i = 0; i < s.x().length; i++) {
        if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
          points.append(fmt(px(s.x()[i], minX, maxX))).append(',').append(fmt(py(s.y()[i], minY, maxY))).append(' ');
        }
      }
      if (lines) {
        svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"")
            .append(points.toString().trim()).append("\"/>");
      }
      if (s.x().length <= 30 || !lines) {
        for (int i = 0; i < s.x().length; i++) {
          if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
            svg.append("<circle r=\"3\" fill=\"").append(color).append("\" cx=\"")
                .append(fmt(px(s.x()[i], minX, maxX))).append("\" cy=\"").append(fmt(py(s.y()[i], minY, maxY)))
                .append("\"/>");
          }
        }
      }
      double ly = TOP + 12 + 18 * k;
      svg.append("<rect x=\"").append(WIDTH - RIGHT + 12).append("\" y=\"").append(fmt(ly - 8))
          .append("\" width=\"10\" height=\"10\" fill=\"").append(color).append("\"/>");
      svg.append(text(WIDTH - RIGHT + 26, ly + 1, s.name(), "start", 11));
      k++;
    }
    return svg.append("</svg>").toString();
  }

  /** A vertical bar chart with one bar per label, value printed above each bar. */
  public static String barChart(String title, String yLabel, List<String> labels, double[] values) {
    if (labels.size() != values.length) {
      throw new IllegalArgumentException(labels.size() + " labels but " + values.length + " values");
    }
    double max = 0;
    for (double v : values) {
      max = Math.max(max, v);
    }
    max = max == 0 ? 1 : max * 1.1;
    StringBuilder svg = open(title);
    axes(svg, "", yLabel, Double.NaN, Double.NaN, 0, max);
    double plotWidth = WIDTH - LEFT - RIGHT;
    double slot = plotWidth / Math.max(1, values.length);
    for (int i = 0; i < values.length; i++) {
      double x = LEFT + slot * i + slot * 0.15;
      double y = py(values[i], 0, max);
      svg.append("<rect fill=\"").append(COLORS[0]).append("\" x=\"").append(fmt(x)).append("\" y=\"")
          .append(fmt(y)).append("\" width=\"").append(fmt(slot * 0.7)).append("\" height=\"")
          .append(fmt(HEIGHT - BOTTOM - y)).append("\"/>");
      svg.append(text(x + slot * 0.35, y - 4, number(values[i]), "middle", 10));
      if (values.length <= 40) {
        svg.append(text(x + slot * 0.35, HEIGHT - BOTTOM + 14, labels.get(i), "middle", 10));
      }
    }
    return svg.append("</svg>").toString();
  }

  /** A confusion matrix: rows are true labels, columns predicted ones, cells shaded by share of the row. */
  public static String confusionMatrix(String title, List<String> labels, long[][] counts) {
    int n = labels.size();
    int cell = 70;
    int left = 130;
    int top = 70;
    int width = left + cell * n + 20;
    int height = top + cell * n + 20;
    StringBuilder svg = new StringBuilder();
    svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width).append("\" height=\"")
        .append(height).append("\" font-family=\"sans-serif\">");
    svg.append(text(width / 2.0, 18, title, "middle", 14));
    svg.append(text(left + cell * n / 2.0, top - 28, "predicted", "middle", 11));
    for (int i = 0; i < n; i++) {
      long rowTotal = 0;
      for (long c : counts[i]) {
        rowTotal += c;
      }
      svg.append(text(left - 8, top + cell * i + cell / 2.0 + 4, "true " + labels.get(i), "end", 11));
      svg.append(text(left + cell * i + cell / 2.0, top - 8, labels.get(i), "middle", 11));
      for (int j = 0; j < n; j++) {
        double share = rowTotal == 0 ? 0 : counts[i][j] / (double) rowTotal;
        int shade = (int) Math.round(255 - 180 * share);
        svg.append("<rect x=\"").append(left + cell * j).append("\" y=\"").append(top + cell * i)
            .append("\" width=\"").append(cell).append("\" height=\"").append(cell)
            .append("\" stroke=\"#888\" fill=\"rgb(").append(shade).append(',').append(shade).append(",255)\"/>");
        svg.append(text(left + cell * j + cell / 2.0, top + cell * i + cell / 2.0 + 5,
            Long.toString(counts[i][j]), "middle", 14));
      }
    }
    return svg.append("</svg>").toString();
  }

  /** Escapes text for XML and HTML. */
  public static String escape(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  private static StringBuilder open(String title) {
    StringBuilder svg = new StringBuilder();
    svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"")
        .append(HEIGHT).append("\" font-family=\"sans-serif\">");
    svg.append(text(WIDTH / 2.0, 18, title, "middle", 14));
    return svg;
  }

  private static void axes(StringBuilder svg, String xLabel, String yLabel, double minX, double maxX, double minY,
      double maxY) {
    int x0 = LEFT;
    int y0 = HEIGHT - BOTTOM;
    int x1 = WIDTH - RIGHT;
    svg.append("<line x1=\"").append(x0).append("\" y1=\"").append(y0).append("\" x2=\"").append(x1)
        .append("\" y2=\"").append(y0).append("\" stroke=\"#333\"/>");
    svg.append("<line x1=\"").append(x0).append("\" y1=\"").append(TOP).append("\" x2=\"").append(x0)
        .append("\" y2=\"").append(y0).append("\" stroke=\"#333\"/>");
    for (double tick : ticks(minY, maxY)) {
      double y = py(tick, minY, maxY);
      svg.append("<line x1=\"").append(x0 - 4).append("\" y1=\"").append(fmt(y)).append("\" x2=\"").append(x1)
          .append("\" y2=\"").append(fmt(y)).append("\" stroke=\"#eee\"/>");
      svg.append(text(x0 - 6, y + 4, number(tick), "end", 10));
    }
    if (!Double.isNaN(minX)) {
      for (double tick : ticks(minX, maxX)) {
        double x = px(tick, minX, maxX);
        svg.append("<line x1=\"").append(fmt(x)).append("\" y1=\"").append(y0).append("\" x2=\"").append(fmt(x))
            .append("\" y2=\"").append(y0 + 4).append("\" stroke=\"#333\"/>");
        svg.append(text(x, y0 + 16, number(tick), "middle", 10));
      }
    }
    svg.append(text((x0 + x1) / 2.0, HEIGHT - 8, xLabel, "middle", 11));
    svg.append("<text x=\"14\" y=\"").append((TOP + y0) / 2).append("\" font-size=\"11\" text-anchor=\"middle\""
        + " transform=\"rotate(-90 14 ").append((TOP + y0) / 2).append(")\">").append(escape(yLabel))
        .append("</text>");
  }

  /** About five round tick values covering [min, max]. */
  static List<Double> ticks(double min, double max) {
    double span = max - min;
    double raw = span / 5;
    double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    double step = magnitude;
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (raw <= m * magnitude) {
        step = m * magnitude;
        break;
      }
    }
    List<Double> ticks = new ArrayList<>();
    // Multiples of step computed from an integer count, so 0.6 is 3 * 0.2 rather than 0.2 + 0.2 + 0.2.
    for (long i = (long) Math.ceil(min / step); i * step <= max + step * 1e-9; i++) {
      ticks.add(Double.parseDouble(String.format(Locale.ROOT, "%.12g", i * step)));
    }
    return ticks;
  }

  private static double px(double x, double minX, double maxX) {
    return LEFT + (x - minX) / (maxX - minX) * (WIDTH - LEFT - RIGHT);
  }

  private static double py(double y, double minY, double maxY) {
    return HEIGHT - BOTTOM - (y - minY) / (maxY - minY) * (HEIGHT - BOTTOM - TOP);
  }

  private static String text(double x, double y, String s, String anchor, int size) {
    return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" font-size=\"" + size + "\" text-anchor=\"" + anchor
        + "\">" + escape(s) + "</text>";
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static String number(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return Long.toString((long) v);
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : Math.abs(v) >= 1 ? "%.2f" : "%.3f", v);
  }

  /** Series from columns of records, as read from {@code metrics.jsonl}: x and y by key, in order. */
  public static Series series(String name, List<Map<String, Double>> records, String xKey, String yKey) {
    List<double[]> points = new ArrayList<>();
    for (Map<String, Double> r : records) {
      if (r.containsKey(xKey) && r.containsKey(yKey) && r.get(xKey) != null && r.get(yKey) != null) {
        points.add(new double[] {r.get(xKey), r.get(yKey)});
      }
    }
    double[] x = new double[points.size()];
    double[] y = new double[points.size()];
    for (int i = 0; i < x.length; i++) {
      x[i] = points.get(i)[0];
      y[i] = points.get(i)[1];
    }
    return new Series(name, x, y);
  }
}
