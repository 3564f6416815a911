package io.textspark.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Deterministic per-epoch micro-batch plans: a global shuffle split across ranks like PyTorch's
 * {@code DistributedSampler} (drop_last=false), then length bucketing within each rank so
 * micro-batches need little padding while their order stays random.
 *
 * <p>A plan depends only on the examples (sorted by idx), the seed, the epoch, the rank and the
 * world size, so a restarted or re-partitioned job sees exactly the same batches.
 */
public final class BatchPlan {
  private static final long GOLDEN = 0x9e3779b97f4a7c15L;
  // Distinct tags keep the global shuffle stream and the per-rank batch-order streams apart.
  private static final long SHUFFLE_STREAM = 0x53485546464c4531L;
  private static final long ORDER_STREAM = 0x4f52444552424154L;

  private BatchPlan() {}

  /**
   * The micro-batches (positions into {@code ex}) that rank {@code rank} of {@code worldSize}
   * processes in epoch {@code epoch}.
   *
   * <p>Steps: (1) Fisher–Yates shuffle of all N positions with a generator seeded by (seed,
   * epoch) only, identical on every rank; (2) when N is not a multiple of W, the shuffled list is
   * extended by wrapping around to its start until its length is ceil(N/W)·W, so the first
   * ceil(N/W)·W − N shuffled examples are seen twice this epoch and every rank gets exactly
   * ceil(N/W) examples (PyTorch's padding with drop_last=false); (3) rank r takes the elements
   * r, r+W, r+2W, …; (4) that list is cut into windows of {@code microBatch * bucketBatches},
   * each window is sorted by length (stable), and cut into micro-batches of {@code microBatch}
   * (only the very last one may be smaller); (5) the micro-batches are shuffled with a generator
   * seeded by (seed, epoch, rank). Every rank therefore has {@link #batchesPerEpoch} micro-batches.
   *
   * @param bucketBatches micro-batches per sorting window; 1 disables bucketing, larger values
   *     reduce padding but make neighbouring batches more alike in length
   */
  public static List<int[]> plan(Examples ex, int microBatch, long seed, int epoch, int rank,
      int worldSize, int bucketBatches) {
    requirePositive(microBatch, "microBatch");
    requirePositive(worldSize, "worldSize");
    requirePositive(bucketBatches, "bucketBatches");
    if (rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " outside [0, " + worldSize + ")");
    }
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
    }
    int n = ex.size();
    int[] shuffled = identity(n);
    shuffle(shuffled, new SplitMix(mix(mix(seed ^ SHUFFLE_STREAM) + epoch)));

    int perRank = ceilDiv(n, worldSize);
    int[] mine = new int[perRank];
    for (int k = 0; k < perRank; k++) {
      // Slot k·W + rank of the padded list; slots past N wrap to the start of the shuffle.
      long slot = (long) k * worldSize + rank;
      mine[k] = shuffled[(int) (slot % n)];
    }

    int window = (int) Math.min((long) microBatch * bucketBatches, Integer.MAX_VALUE);
    List<int[]> batches = new ArrayList<>(ceilDiv(perRank, microBatch));
    for (int from = 0; from < perRank; from += window) {
      int to = (int) Math.min((long) from + window, perRank);
      int[] win = sortedByLength(ex, Arrays.copyOfRange(mine, from, to));
      for (int b = 0; b < win.length; b += microBatch) {
        batches.add(Arrays.copyOfRange(win, b, Math.min(b + microBatch, win.length)));
      }
    }
    SplitMix order = new SplitMix(mix(mix(mix(seed ^ ORDER_STREAM) + epoch) + rank));
    for (int i = batches.size() - 1; i > 0; i--) {
      int j = order.nextInt(i + 1);
      int[] t = batches.get(i);
      batches.set(i, batches.get(j));
      batches.set(j, t);
    }
    return batches;
  }

  /**
   * The number of micro-batches every rank processes per epoch: ceil(ceil(n / worldSize) /
   * microBatch), which is also the number of synchronised steps when each step is one
   * micro-batch per rank.
   */
  public static int batchesPerEpoch(int n, int microBatch, int worldSize) {
    requirePositive(microBatch, "microBatch");
    requirePositive(worldSize, "worldSize");
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    return ceilDiv(ceilDiv(n, worldSize), microBatch);
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
