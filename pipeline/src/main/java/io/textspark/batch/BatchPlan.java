package io.textspark.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Deterministic per-epoch batch plans: a shuffle of the whole set, length bucketing so batches need
 * little padding while their order stays random, and a split of each optimizer step's global batch
 * into workers and micro-batches.
 *
 * <p>A plan depends only on the examples (sorted by idx), the seed, the epoch and the global batch
 * size, so a restarted or re-partitioned job sees exactly the same batches.
 */
public final class BatchPlan {
  private static final long GOLDEN = 0x9e3779b97f4a7c15L;
  // Distinct tags keep the row shuffle stream and the batch-order stream apart.
  private static final long SHUFFLE_STREAM = 0x53485546464c4531L;
  private static final long ORDER_STREAM = 0x4f52444552424154L;

  private BatchPlan() {}

  /**
   * The optimizer steps of epoch {@code epoch}: global batches of at most {@code globalBatch}
   * rows (positions into {@code ex}), the same on every worker.
   *
   * <p>Steps: (1) Fisher–Yates shuffle of all N positions with a generator seeded by (seed, epoch);
   * (2) the shuffled list is cut into windows of {@code globalBatch * bucketBatches} rows, each
   * window sorted by length (stable) and cut into global batches, so rows of one batch have
   * similar lengths and little is spent on padding; (3) the order of the global batches is
   * shuffled with a generator seeded by (seed, epoch). Only the very last batch of a window may be
   * smaller. The plan depends on the global batch size alone, not on how a step is split into
   * workers and micro-batches, which is what makes N workers with k micro-batches of b rows
   * compute the same steps as one worker with batches of N·k·b rows.
   *
   * @param bucketBatches global batches per sorting window; 1 disables bucketing, larger values
   *     reduce padding but make neighbouring batches more alike in length
   */
  public static List<int[]> steps(Examples ex, int globalBatch, long seed, int epoch, int bucketBatches) {
    requirePositive(globalBatch, "globalBatch");
    requirePositive(bucketBatches, "bucketBatches");
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
    }
    int n = ex.size();
    int[] shuffled = identity(n);
    shuffle(shuffled, new SplitMix(mix(mix(seed ^ SHUFFLE_STREAM) + epoch)));
    int window = (int) Math.min((long) globalBatch * bucketBatches, Integer.MAX_VALUE);
    List<int[]> batches = new ArrayList<>(ceilDiv(n, globalBatch));
    for (int from = 0; from < n; from += window) {
      int to = (int) Math.min((long) from + window, n);
      int[] win = sortedByLength(ex, Arrays.copyOfRange(shuffled, from, to));
      for (int b = 0; b < win.length; b += globalBatch) {
        batches.add(Arrays.copyOfRange(win, b, Math.min(b + globalBatch, win.length)));
      }
    }
    SplitMix order = new SplitMix(mix(mix(seed ^ ORDER_STREAM) + epoch));
    for (int i = batches.size() - 1; i > 0; i--) {
      int j = order.nextInt(i + 1);
      int[] t = batches.get(i);
      batches.set(i, batches.get(j));
      batches.set(j, t);
    }
    return batches;
  }

  /**
   * The {@code accumulate} micro-batches that worker {@code rank} of {@code workers} runs for one
   * global batch. The batch is dealt round-robin into workers·accumulate micro-batches (row i goes
   * to micro-batch i mod (workers·accumulate)), so every worker gets rows of every length in the
   * batch and none waits long for the others; worker r runs micro-batches r·k to r·k+k−1. A
   * micro-batch is empty when the global batch has fewer rows than workers·accumulate.
   */
  public static List<int[]> microBatches(int[] globalBatch, int rank, int workers, int accumulate) {
    requirePositive(workers, "workers");
    requirePositive(accumulate, "accumulate");
    if (rank < 0 || rank >= workers) {
      throw new IllegalArgumentException("rank " + rank + " outside [0, " + workers + ")");
    }
    int parts = workers * accumulate;
    List<int[]> out = new ArrayList<>(accumulate);
    for (int j = rank * accumulate; j < (rank + 1) * accumulate; j++) {
      int size = j < globalBatch.length ? (globalBatch.length - j + parts - 1) / parts : 0;
      int[] micro = new int[size];
      for (int i = 0; i < size; i++) {
        micro[i] = globalBatch[j + i * parts];
      }
      out.add(micro);
    }
    return out;
  }

  /**
   * Optimizer steps per epoch for {@code n} rows and global batches of {@code globalBatch}, with
   * bucketing windows of {@code bucketBatches} batches (each window's last batch may be short).
   */
  public static int stepsPerEpoch(int n, int globalBatch, int bucketBatches) {
    requirePositive(globalBatch, "globalBatch");
    requirePositive(bucketBatches, "bucketBatches");
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    long window = (long) globalBatch * bucketBatches;
    long full = n / window;
    long rest = n % window;
    return (int) (full * bucketBatches + (rest + globalBatch - 1) / globalBatch);
  }

  /**
   * Batches that cover every example exactly once, for validation and scoring; with
   * {@code sortByLength} the whole set is sorted by length (stable, so ties keep idx order) to
   * minimise padding, and the returned positions let the caller put predictions back in order.
   */
  public static List<int[]> sequential(Examples ex, int batch, boolean sortByLength) {
    requirePositive(batch, "batch");
    int[] order = identity(ex.size());
    if (sortByLength) {
      // Scoring order does not matter, so one window over the whole set gives the least padding.
      order = sortedByLength(ex, order);
    }
    List<int[]> batches = new ArrayList<>(ceilDiv(order.length, batch));
    for (int b = 0; b < order.length; b += batch) {
      batches.add(Arrays.copyOfRange(order, b, Math.min(b + batch, order.length)));
    }
    return batches;
  }

  /** Sorts positions by row length, keeping the given order among equal lengths. */
  private static int[] sortedByLength(Examples ex, int[] positions) {
    // (length, index in the input) packed into one long: a primitive sort that is stable.
    long[] packed = new long[positions.length];
    for (int k = 0; k < positions.length; k++) {
      packed[k] = ((long) ex.length(positions[k]) << 32) | k;
    }
    Arrays.sort(packed);
    int[] out = new int[positions.length];
    for (int k = 0; k < out.length; k++) {
      out[k] = positions[(int) packed[k]];
    }
    return out;
  }

  private static int[] identity(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    return a;
  }

  private static void shuffle(int[] a, SplitMix rng) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  private static int ceilDiv(int a, int b) {
    return (int) (((long) a + b - 1) / b);
  }

  private static void requirePositive(int v, String name) {
    if (v < 1) {
      throw new IllegalArgumentException(name + " must be >= 1, got " + v);
    }
  }

  /** The SplitMix64 finaliser: spreads nearby inputs (seed 1 vs 2, epoch 3 vs 4) far apart. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /**
   * SplitMix64 written out here rather than {@code java.util.SplittableRandom}, whose bounded
   * draws the JDK may change, so plans stay identical across Java versions.
   */
  private static final class SplitMix {
    private long state;

    SplitMix(long seed) {
      this.state = seed;
    }

    long nextLong() {
      state += GOLDEN;
      return mix(state);
    }

    /** A uniform int in [0, bound), rejecting the top partial range so there is no modulo bias. */
    int nextInt(int bound) {
      // 2^64 mod bound: the count of top values that would make small results more likely.
      long rem = (Long.remainderUnsigned(-1L, bound) + 1) % bound;
      while (true) {
        long r = nextLong();
        if (rem == 0 || Long.compareUnsigned(r, -rem) < 0) {
          return (int) Long.remainderUnsigned(r, bound);
        }
      }
    }
  }
}
