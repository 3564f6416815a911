package io.textspark.metrics;

/**
 * A running sum and count whose mean is, for example, the average loss per example; workers
 * all-reduce {@link #toArray()} and rebuild it with {@link #fromArray(double[])}.
 */
public final class MeanAccumulator {
  private double sum;
  private long count;

  /** Creates an empty accumulator. */
  public MeanAccumulator() {}

  /** Rebuilds an accumulator from {@link #toArray()}. */
  public static MeanAccumulator fromArray(double[] sumAndCount) {
    if (sumAndCount.length != 2) {
      throw new IllegalArgumentException("expected {sum, count} but got "
          + sumAndCount.length + " values");
    }
    MeanAccumulator m = new MeanAccumulator();
    m.sum = sumAndCount[0];
    m.count = Math.round(sumAndCount[1]);
    return m;
  }

  /** {sum, count}, as doubles so that one all-reduce of doubles carries both. */
  public double[] toArray() {
    return new double[] {sum, count};
  }

  /** Adds one value. */
  public MeanAccumulator add(double value) {
    return add(value, 1);
  }

  /**
   * Adds the sum of n values, for example a batch's mean loss times its size, so that the mean
   * weights every example equally however the batches are sized.
   */
  public MeanAccumulator add(double sumOfValues, long n) {
    if (n < 0) {
      throw new IllegalArgumentException("count must not be negative but is " + n);
    }
    sum += sumOfValues;
    count += n;
    return this;
  }

  /** Adds other's sum and count to these and returns this. */
  public MeanAccumulator add(MeanAccumulator other) {
    return add(other.sum, other.count);
  }

  /** Sum of the values. */
  public double sum() {
    return sum;
  }

  /** Number of values. */
  public long count() {
    return count;
  }

  /** Mean of the values, 0 when there are none. */
  public double mean() {
    return count == 0 ? 0 : sum / count;
  }
}
