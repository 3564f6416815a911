package io.textspark.train;

import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import java.util.ArrayList;
import java.util.List;

/**
 * One worker's optimizer steps, planned from the shards it holds and nothing else, so a worker
 * never needs rows of other shards. Each shard plans its epoch on its own with
 * {@link BatchPlan#steps} in batches of {@code shardBatch} rows: its rows are shuffled from the
 * shard's seed and the epoch and sorted by length within windows, and the batches are put in an
 * order drawn from the run's seed and the epoch, the same on every shard. Step t of the run is the
 * union of every shard's batch t, and a worker splits its part of step t into {@code accumulate}
 * micro-batches. Because the order is shared, step t takes the batch at the same place of the same
 * length-sorted window on every shard, so the workers' batches have similar lengths and none waits
 * long for the others.
 *
 * <p>Every worker runs the same number of steps per epoch: that of the largest shard. Shards
 * differ by at most one row, so a smaller shard has at most one batch fewer; it runs one empty
 * step, contributing zero rows and zero gradients to the all-reduce, instead of leaving the others
 * waiting or dropping rows. A worker holding every shard (as the single-worker reference of a
 * multi-worker run does) computes exactly the global batches the workers compute together.
 */
public final class ShardPlan {
  private final int shards;
  private final int[] held;
  private final List<Examples> shardRows = new ArrayList<>();
  // Position in the shard's Examples -> position in the worker's Examples; null when they coincide.
  private final List<int[]> toLocal = new ArrayList<>();
  private final int shardBatch;
  private final int accumulate;
  private final long seed;
  private final int bucketBatches;
  private final int stepsPerEpoch;

  /**
   * Plans for the rows {@code local} of the shards {@code sharding} says this worker holds.
   *
   * @param shardBatch rows per shard per step (global batch / shards)
   * @param accumulate micro-batches per step on this worker
   */
  public ShardPlan(Examples local, Sharding sharding, int shardBatch, int accumulate, long seed, int bucketBatches) {
    if (shardBatch < 1 || accumulate < 1) {
      throw new IllegalArgumentException("shardBatch and accumulate must be >= 1: " + shardBatch + ", " + accumulate);
    }
    this.shards = sharding.shards();
    this.held = sharding.held();
    this.shardBatch = shardBatch;
    this.accumulate = accumulate;
    this.seed = seed;
    this.bucketBatches = bucketBatches;
    if (local.size() != sharding.heldRows()) {
      throw new IllegalArgumentException("this worker holds " + local.size() + " training rows but " + sharding
          + " should hold " + sharding.heldRows());
    }
    if (held.length == 1) {
      shardRows.add(local);
      toLocal.add(null);
    } else if (held.length == shards) {
      // Every shard on one worker: local is the whole set in idx order, so position p is in shard p mod S.
      for (int s = 0; s < shards; s++) {
        int[] positions = new int[Sharding.rowsOf(s, shards, local.size())];
        for (int i = 0; i < positions.length; i++) {
          positions[i] = s + i * shards;
        }
        shardRows.add(local.subset(positions));
        toLocal.add(positions);
      }
    } else {
      throw new IllegalArgumentException("a worker holds one shard or all of them, not " + sharding);
    }
    this.stepsPerEpoch = stepsPerEpoch(sharding.totalRows(), shards, shardBatch, bucketBatches);
  }

  /** Steps per epoch of a run over {@code totalRows} rows in {@code shards} shards: the largest shard's. */
  public static int stepsPerEpoch(int totalRows, int shards, int shardBatch, int bucketBatches) {
    return BatchPlan.stepsPerEpoch(Sharding.rowsOf(0, shards, totalRows), shardBatch, bucketBatches);
  }

  /** Optimizer steps per epoch, the same on every worker. */
  public int stepsPerEpoch() {
    return stepsPerEpoch;
  }

  /**
   * The steps of epoch {@code epoch}: for each, this worker's {@code accumulate} micro-batches as
   * positions into its rows (some possibly empty, all empty in a smaller shard's one padding step).
   */
  public List<List<int[]>> epoch(int epoch) {
    List<List<int[]>> perShard = new ArrayList<>();
    for (int h = 0; h < held.length; h++) {
      List<int[]> batches = BatchPlan.steps(shardRows.get(h), shardBatch, BatchPlan.shardSeed(seed, held[h]), seed,
          epoch, bucketBatches, stepsPerEpoch);
      if (batches.size() != stepsPerEpoch) {
        throw new IllegalStateException("shard " + held[h] + " planned " + batches.size() + " steps, expected "
            + stepsPerEpoch);
      }
      int[] map = toLocal.get(h);
      List<int[]> mapped = new ArrayList<>(batches.size());
      for (int[] b : batches) {
        int[] local = new int[b.length];
        for (int i = 0; i < b.length; i++) {
          local[i] = map == null ? b[i] : map[b[i]];
        }
        mapped.add(local);
      }
      perShard.add(mapped);
    }
    List<List<int[]>> steps = new ArrayList<>(stepsPerEpoch);
    for (int t = 0; t < stepsPerEpoch; t++) {
      int rows = 0;
      for (List<int[]> shard : perShard) {
        rows += shard.get(t).length;
      }
      int[] step = new int[rows];
      int o = 0;
      for (List<int[]> shard : perShard) {
        System.arraycopy(shard.get(t), 0, step, o, shard.get(t).length);
        o += shard.get(t).length;
      }
      steps.add(BatchPlan.microBatches(step, 0, 1, accumulate));
    }
    return steps;
  }
}
