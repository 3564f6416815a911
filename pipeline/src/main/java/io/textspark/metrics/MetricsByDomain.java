package io.textspark.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loss and classification metrics over all examples and separately per domain (such as CoLA's
 * "in" and "out" of domain sets), with a fixed layout so that workers can all-reduce the counts.
 */
public final class MetricsByDomain {
  private final List<String> domains;
  private final ClassificationMetrics overall = new ClassificationMetrics();
  private final MeanAccumulator overallLoss = new MeanAccumulator();
  private final Map<String, ClassificationMetrics> byDomain = new LinkedHashMap<>();
  private final Map<String, MeanAccumulator> lossByDomain = new LinkedHashMap<>();

  /** Creates empty metrics for the given domains, whose order fixes the layout of the arrays. */
  public MetricsByDomain(List<String> domains) {
    this.domains = List.copyOf(domains);
    for (String d : this.domains) {
      if (byDomain.put(d, new ClassificationMetrics()) != null) {
        throw new IllegalArgumentException("domain " + d + " is listed twice");
      }
      lossByDomain.put(d, new MeanAccumulator());
    }
  }

  /** The domains, in layout order. */
  public List<String> domains() {
    return domains;
  }

  /** Counts one example overall and, unless domain is null, in its domain. */
  public MetricsByDomain add(String domain, int label, int predicted) {
    overall.add(label, predicted);
    if (domain != null) {
      metrics(domain).add(label, predicted);
    }
    return this;
  }

  /** Adds one example's loss overall and, unless domain is null, in its domain. */
  public MetricsByDomain addLoss(String domain, double loss) {
    overallLoss.add(loss);
    if (domain != null) {
      loss(domain).add(loss);
    }
    return this;
  }

  /** Adds other's counts and losses, which must have the same domains, and returns this. */
  public MetricsByDomain add(MetricsByDomain other) {
    if (!domains.equals(other.domains)) {
      throw new IllegalArgumentException("domains " + other.domains + " differ from " + domains);
    }
    overall.add(other.overall);
    overallLoss.add(other.overallLoss);
    for (String d : domains) {
      byDomain.get(d).add(other.byDomain.get(d));
      lossByDomain.get(d).add(other.lossByDomain.get(d));
    }
    return this;
  }

  /** Metrics over every example. */
  public ClassificationMetrics overall() {
    return overall;
  }

  /** Loss over every example. */
  public MeanAccumulator loss() {
    return overallLoss;
  }

  /** Metrics of one domain. */
  public ClassificationMetrics metrics(String domain) {
    ClassificationMetrics m = byDomain.get(domain);
    if (m == null) {
      throw new IllegalArgumentException("unknown domain " + domain + "; known: " + domains);
    }
    return m;
  }

  /** Loss of one domain. */
  public MeanAccumulator loss(String domain) {
    metrics(domain);
    return lossByDomain.get(domain);
  }

  /** All confusion counts, overall then each domain in order, four per group. */
  public long[] toCounts() {
    long[] out = new long[ClassificationMetrics.COUNTS * (1 + domains.size())];
    System.arraycopy(overall.toCounts(), 0, out, 0, ClassificationMetrics.COUNTS);
    for (int i = 0; i < domains.size(); i++) {
      System.arraycopy(byDomain.get(domains.get(i)).toCounts(), 0, out,
          ClassificationMetrics.COUNTS * (i + 1), ClassificationMetrics.COUNTS);
    }
    return out;
  }

  /** All loss sums and counts, overall then each domain in order, {sum, count} per group. */
  public double[] toLossArray() {
    double[] out = new double[2 * (1 + domains.size())];
    System.arraycopy(overallLoss.toArray(), 0, out, 0, 2);
    for (int i = 0; i < domains.size(); i++) {
      System.arraycopy(lossByDomain.get(domains.get(i)).toArray(), 0, out, 2 * (i + 1), 2);
    }
    return out;
  }

  /** Rebuilds metrics for domains from {@link #toCounts()} and {@link #toLossArray()}. */
  public static MetricsByDomain fromArrays(List<String> domains, long[] counts, double[] losses) {
    MetricsByDomain m = new MetricsByDomain(domains);
    int groups = 1 + m.domains.size();
    if (counts.length != ClassificationMetrics.COUNTS * groups || losses.length != 2 * groups) {
      throw new IllegalArgumentException("arrays do not match " + groups + " groups");
    }
    List<ClassificationMetrics> metrics = new ArrayList<>();
    List<MeanAccumulator> lossList = new ArrayList<>();
    metrics.add(m.overall);
    lossList.add(m.overallLoss);
    for (String d : m.domains) {
      metrics.add(m.byDomain.get(d));
      lossList.add(m.lossByDomain.get(d));
    }
    for (int g = 0; g < groups; g++) {
      long[] c = new long[ClassificationMetrics.COUNTS];
      System.arraycopy(counts, ClassificationMetrics.COUNTS * g, c, 0, c.length);
      metrics.get(g).add(ClassificationMetrics.fromCounts(c));
      double[] loss = {losses[2 * g], losses[2 * g + 1]};
      lossList.get(g).add(MeanAccumulator.fromArray(loss));
    }
    return m;
  }

  /**
   * Loss and metrics as one flat map, overall names plain ({@code loss}, {@code mcc}) and domain
   * names prefixed ({@code in/mcc}), ready for the JSON log and TensorBoard tags.
   */
  public Map<String, Double> toMap() {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("loss", overallLoss.mean());
    out.putAll(overall.toMap());
    for (String d : domains) {
      out.put(d + "/loss", lossByDomain.get(d).mean());
      byDomain.get(d).toMap().forEach((k, v) -> out.put(d + "/" + k, v));
    }
    return out;
  }
}
