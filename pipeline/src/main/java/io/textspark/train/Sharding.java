package io.textspark.train;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Which part of the training set a worker holds. The rows, in {@code idx} order, are dealt into
 * {@code shards} shards like cards: the row at position p goes to shard p mod shards, so shard
 * sizes differ by at most one row and do not depend on how Spark partitioned the data.
 *
 * @param shards how many shards the training set is cut into (the number of workers)
 * @param held the shards this worker holds, ascending: its own one, or all of them on one worker
 * @param totalRows training rows over all shards
 */
public record Sharding(int shards, int[] held, int totalRows) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Checks the shard numbers. */
  public Sharding {
    if (shards < 1 || held.length == 0 || totalRows < 0) {
      throw new IllegalArgumentException("invalid sharding: " + shards + " shards, held " + Arrays.toString(held)
          + ", " + totalRows + " rows");
    }
    held = held.clone();
    for (int i = 0; i < held.length; i++) {
      if (held[i] < 0 || held[i] >= shards || i > 0 && held[i] <= held[i - 1]) {
        throw new IllegalArgumentException("held shards must ascend within [0, " + shards + "): "
            + Arrays.toString(held));
      }
    }
  }

  /** The whole set as one shard: the single-worker case. */
  public static Sharding whole(int totalRows) {
    return new Sharding(1, new int[] {0}, totalRows);
  }

  /** Shard {@code shard} of {@code shards}: what worker {@code shard} of a run holds. */
  public static Sharding one(int shard, int shards, int totalRows) {
    return new Sharding(shards, new int[] {shard}, totalRows);
  }

  /** Every shard on one worker, which then computes exactly what {@code shards} workers compute together. */
  public static Sharding all(int shards, int totalRows) {
    int[] held = new int[shards];
    for (int s = 0; s < shards; s++) {
      held[s] = s;
    }
    return new Sharding(shards, held, totalRows);
  }

  /** The shard of the row at position {@code position} of the whole set in idx order. */
  public static int shardOf(long position, int shards) {
    return (int) (position % shards);
  }

  /** Rows in shard {@code shard}: positions s, s+S, s+2S, ... below {@code totalRows}. */
  public static int rowsOf(int shard, int shards, int totalRows) {
    return totalRows <= shard ? 0 : (totalRows - shard + shards - 1) / shards;
  }

  /** Rows this worker holds. */
  public int heldRows() {
    int n = 0;
    for (int s : held) {
      n += rowsOf(s, shards, totalRows);
    }
    return n;
  }

  @Override
  public int[] held() {
    return held.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Sharding s && s.shards == shards && s.totalRows == totalRows && Arrays.equals(s.held, held);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * shards + totalRows) + Arrays.hashCode(held);
  }

  @Override
  public String toString() {
    return "shards " + Arrays.toString(held) + " of " + shards + " (" + totalRows + " rows in all)";
  }
}
