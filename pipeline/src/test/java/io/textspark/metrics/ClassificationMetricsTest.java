package io.textspark.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClassificationMetricsTest {
  private static final int[] LABELS = {1, 1, 1, 1, 0, 0, 0, 1, 0, 1};
  private static final int[] PREDICTED = {1, 0, 1, 1, 0, 1, 0, 1, 0, 0};

  @Test
  void mixedExample() {
    // Counted by hand from the arrays above: tp 4, fn 2, tn 3, fp 1.
    ClassificationMetrics m = new ClassificationMetrics().add(LABELS, PREDICTED);
    assertArrayEquals(new long[] {3, 1, 2, 4}, m.toCounts());
    assertArrayEquals(new long[][] {{3, 1}, {2, 4}}, m.confusionMatrix());
    assertEquals(10, m.count());
    assertEquals(0.7, m.accuracy(), 1e-12);
    assertEquals(0.8, m.precision(), 1e-12);
    assertEquals(4.0 / 6.0, m.recall(), 1e-12);
    double p = 0.8;
    double r = 4.0 / 6.0;
    assertEquals(2 * p * r / (p + r), m.f1(), 1e-12);
    assertEquals((4.0 * 3 - 1.0 * 2) / Math.sqrt(5.0 * 6 * 4 * 5), m.mcc(), 1e-12);
  }

  @Test
  void allOneClassPredictionHasZeroMcc() {
    ClassificationMetrics m = new ClassificationMetrics().add(new int[] {1, 0, 1, 0},
        new int[] {1, 1, 1, 1});
    assertEquals(0.0, m.mcc(), 0);
    assertEquals(0.5, m.accuracy(), 1e-12);
    assertEquals(0.5, m.precision(), 1e-12);
    assertEquals(1.0, m.recall(), 1e-12);
    assertEquals(2 * 0.5 * 1.0 / 1.5, m.f1(), 1e-12);
    ClassificationMetrics none = new ClassificationMetrics().add(new int[] {1, 0},
        new int[] {0, 0});
    assertEquals(0.0, none.mcc(), 0);
    assertEquals(0.0, none.precision(), 0);
    assertEquals(0.0, none.f1(), 0);
  }

  @Test
  void perfectAndInvertedPredictions() {
    int[] labels = {0, 1, 1, 0, 1};
    int[] inverted = {1, 0, 0, 1, 0};
    ClassificationMetrics perfect = new ClassificationMetrics().add(labels, labels);
    assertEquals(1.0, perfect.mcc(), 1e-12);
    assertEquals(1.0, perfect.f1(), 1e-12);
    assertEquals(1.0, perfect.accuracy(), 1e-12);
    ClassificationMetrics wrong = new ClassificationMetrics().add(labels, inverted);
    assertEquals(-1.0, wrong.mcc(), 1e-12);
    assertEquals(0.0, wrong.accuracy(), 0);
  }

  @Test
  void emptyMetricsAreZero() {
    ClassificationMetrics m = new ClassificationMetrics();
    assertEquals(0.0, m.accuracy(), 0);
    assertEquals(0.0, m.mcc(), 0);
  }

  @Test
  void countsMergeLikeOneDataset() {
    ClassificationMetrics first = new ClassificationMetrics();
    ClassificationMetrics second = new ClassificationMetrics();
    for (int i = 0; i < LABELS.length; i++) {
      (i % 3 == 0 ? first : second).add(LABELS[i], PREDICTED[i]);
    }
    long[] reduced = first.toCounts();
    long[] other = second.toCounts();
    for (int i = 0; i < reduced.length; i++) {
      reduced[i] += other[i];
    }
    ClassificationMetrics whole = new ClassificationMetrics().add(LABELS, PREDICTED);
    assertArrayEquals(whole.toCounts(), ClassificationMetrics.fromCounts(reduced).toCounts());
    assertArrayEquals(whole.toCounts(), first.add(second).toCounts());
    assertThrows(IllegalArgumentException.class, () -> whole.add(2, 1));
  }

  @Test
  void meanAccumulatorWeightsExamples() {
    MeanAccumulator a = new MeanAccumulator().add(0.5 * 4, 4);
    MeanAccumulator b = new MeanAccumulator().add(2.0).add(1.0);
    assertEquals((2.0 + 2.0 + 1.0) / 6, a.add(b).mean(), 1e-12);
    assertEquals(6, MeanAccumulator.fromArray(a.toArray()).count());
    assertEquals(0.0, new MeanAccumulator().mean(), 0);
  }

  @Test
  void keepsOverallAndPerDomainMetrics() {
    List<String> domains = List.of("in", "out");
    MetricsByDomain worker1 = new MetricsByDomain(domains);
    MetricsByDomain worker2 = new MetricsByDomain(domains);
    worker1.add("in", 1, 1).add("in", 0, 1).addLoss("in", 0.2).addLoss("in", 1.0);
    worker2.add("out", 1, 0).add("in", 1, 1).addLoss("out", 3.0).addLoss("in", 0.4);
    long[] counts = worker1.toCounts();
    double[] losses = worker1.toLossArray();
    for (int i = 0; i < counts.length; i++) {
      counts[i] += worker2.toCounts()[i];
    }
    for (int i = 0; i < losses.length; i++) {
      losses[i] += worker2.toLossArray()[i];
    }
    MetricsByDomain all = MetricsByDomain.fromArrays(domains, counts, losses);
    // overall: tp 2 (two "in" hits), fp 1, fn 1 (the "out" miss), tn 0.
    assertArrayEquals(new long[] {0, 1, 1, 2}, all.overall().toCounts());
    assertArrayEquals(new long[] {0, 1, 0, 2}, all.metrics("in").toCounts());
    assertArrayEquals(new long[] {0, 0, 1, 0}, all.metrics("out").toCounts());
    assertEquals((0.2 + 1.0 + 3.0 + 0.4) / 4, all.loss().mean(), 1e-12);
    assertEquals((0.2 + 1.0 + 0.4) / 3, all.loss("in").mean(), 1e-12);
    Map<String, Double> map = all.toMap();
    assertEquals(2.0 / 3.0, map.get("in/precision"), 1e-12);
    assertEquals(0.5, map.get("accuracy"), 1e-12);
    assertEquals(3.0, map.get("out/loss"), 1e-12);
    assertArrayEquals(counts, worker1.add(worker2).toCounts());
    assertThrows(IllegalArgumentException.class, () -> all.add("elsewhere", 1, 1));
  }
}
