package io.textspark.collective;

/**
 * The operations data-parallel workers use to act as one: a sum across every worker's buffer and a
 * broadcast from rank 0. A single worker uses {@link #single()}, for which both are no-ops.
 */
public interface Collective extends AutoCloseable {
  /** This worker's rank, from 0. */
  int rank();

  /** The number of workers. */
  int size();

  /** Replaces {@code buffer} on every worker by the element-wise sum over all workers. */
  void allReduceSum(float[] buffer);

  /** Replaces {@code buffer} on every worker by the element-wise sum over all workers. */
  void allReduceSum(double[] buffer);

  /** Replaces {@code buffer} on every worker by rank 0's. */
  void broadcast(float[] buffer);

  /**
   * Nanoseconds spent in calls so far, and the part of them spent waiting for the predecessor to
   * reach each call; the rest is moving and summing data. Zeros for a collective that does not
   * measure. A worker that waits long for others is fast; the one the others wait for is a straggler.
   */
  default long[] callNanos() {
    return new long[2];
  }

  @Override
  void close();

  /** The collective of a run with one worker. */
  static Collective single() {
    return new Collective() {
      @Override
      public int rank() {
        return 0;
      }

      @Override
      public int size() {
        return 1;
      }

      @Override
      public void allReduceSum(float[] buffer) {}

      @Override
      public void allReduceSum(double[] buffer) {}

      @Override
      public void broadcast(float[] buffer) {}

      @Override
      public void close() {}
    };
  }
}
