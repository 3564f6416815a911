package io.textspark.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Binary confusion-matrix counts (label 1 is the positive class, "acceptable") and the metrics
 * derived from them; counts add, so workers can all-reduce {@link #toCounts()} and rebuild the
 * whole-dataset metrics with {@link #fromCounts(long[])}.
 *
 * <p>A metric whose denominator is zero is 0, as scikit-learn reports it with its default {@code
 * zero_division} behaviour, so that logs never hold NaN.
 */
public final class ClassificationMetrics {
  /** Number of entries of {@link #toCounts()}. */
  public static final int COUNTS = 4;

  private long trueNegatives;
  private long falsePositives;
  private long falseNegatives;
  private long truePositives;

  /** Creates empty counts. */
  public ClassificationMetrics() {}

  /** Rebuilds counts from {@link #toCounts()}: tn, fp, fn, tp. */
  public static ClassificationMetrics fromCounts(long[] counts) {
    if (counts.length != COUNTS) {
      throw new IllegalArgumentException("expected " + COUNTS + " counts but got " + counts.length);
    }
    ClassificationMetrics m = new ClassificationMetrics();
    m.trueNegatives = counts[0];
    m.falsePositives = counts[1];
    m.falseNegatives = counts[2];
    m.truePositives = counts[3];
    return m;
  }

  /** The counts in scikit-learn's {@code confusion_matrix(...).ravel()} order: tn, fp, fn, tp. */
  public long[] toCounts() {
    return new long[] {trueNegatives, falsePositives, falseNegatives, truePositives};
  }

  /** Counts one example with true label and predicted label, each 0 or 1. */
  public ClassificationMetrics add(int label, int predicted) {
    checkBinary(label, "label");
    checkBinary(predicted, "prediction");
    if (label == 1) {
      if (predicted == 1) {
        truePositives++;
      } else {
        falseNegatives++;
      }
    } else if (predicted == 1) {
      falsePositives++;
    } else {
      trueNegatives++;
    }
    return this;
  }

  /** Counts a batch of examples, labels[i] against predicted[i]. */
  public ClassificationMetrics add(int[] labels, int[] predicted) {
    if (labels.length != predicted.length) {
      throw new IllegalArgumentException(
          labels.length + " labels but " + predicted.length + " predictions");
    }
    for (int i = 0; i < labels.length; i++) {
      add(labels[i], predicted[i]);
    }
    return this;
  }

  /** Adds other's counts to these and returns this. */
  public ClassificationMetrics add(ClassificationMetrics other) {
    trueNegatives += other.trueNegatives;
    falsePositives += other.falsePositives;
    falseNegatives += other.falseNegatives;
    truePositives += other.truePositives;
    return this;
  }

  /** The confusion matrix laid out as in scikit-learn: rows true labels, columns predictions. */
  public long[][] confusionMatrix() {
    return new long[][] {{trueNegatives, falsePositives}, {falseNegatives, truePositives}};
  }

  /** Number of examples counted. */
  public long count() {
    return trueNegatives + falsePositives + falseNegatives + truePositives;
  }

  /** Fraction of examples predicted correctly. */
  public double accuracy() {
    return ratio(truePositives + trueNegatives, count());
  }

  /** Fraction of positive predictions that are positive. */
  public double precision() {
    return ratio(truePositives, truePositives + falsePositives);
  }

  /** Fraction of positive examples predicted positive. */
  public double recall() {
    return ratio(truePositives, truePositives + falseNegatives);
  }

  /** F1 of the positive class, 2tp / (2tp + fp + fn), the harmonic mean of precision and recall. */
  public double f1() {
    return ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives);
  }

  /** Matthews correlation coefficient, 0 when any row or column of the matrix is empty. */
  public double mcc() {
    // Products of counts overflow long on large datasets, so the arithmetic is in double.
    double tp = truePositives;
    double tn = trueNegatives;
    double fp = falsePositives;
    double fn = falseNegatives;
    double denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
    if (denominator == 0) {
      return 0;
    }
    return (tp * tn - fp * fn) / Math.sqrt(denominator);
  }

  /** The metrics by name (accuracy, mcc, f1, precision, recall, count) in a fixed order. */
  public Map<String, Double> toMap() {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("accuracy", accuracy());
    out.put("mcc", mcc());
    out.put("f1", f1());
    out.put("precision", precision());
    out.put("recall", recall());
    out.put("count", (double) count());
    return out;
  }

  /** The metrics by name, for logs and test failures. */
  @Override
  public String toString() {
    return "ClassificationMetrics" + toMap();
  }

  private static double ratio(long numerator, long denominator) {
    return denominator == 0 ? 0 : (double) numerator / denominator;
  }

  private static void checkBinary(int value, String what) {
    if (value != 0 && value != 1) {
      throw new IllegalArgumentException(what + " must be 0 or 1 but is " + value);
    }
  }
}
