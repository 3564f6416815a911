package io.textspark.train;

import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import java.util.ArrayList;
import java.util.List;

/**
 * One worker's part of every optimizer step. Each epoch's global batches are planned once, from the
 * whole training set, the seed, the epoch and length bucketing alone ({@link BatchPlan#steps}), so
 * they are the same whatever the number of workers; every worker holds the whole (tokenized) set and
 * plans them itself. Worker r of N then takes its part of each global batch: the batch's rows are
 * dealt round-robin over the N workers' micro-batches ({@link BatchPlan#microBatches}), so every
 * worker gets rows of every length in the batch and none waits long for the others, and each worker
 * runs as many micro-batches as it takes to keep them at most {@code batchSize} rows.
 *
 * <p>Because losses are divided by the rows of the whole step, N workers with k micro-batches of b
 * rows, one worker with N·k micro-batches of b rows, and one worker with one batch of N·k·b rows all
 * compute the same update: the model depends on the global batch size, not on the cluster.
 */
public final class StepPlan {
  /**
   * Version of the data order recorded in checkpoints. Version 1 (no {@code plan_version} key) dealt
   * the training set into one shard per worker and planned each shard on its own.
   */
  public static final int VERSION = 2;

  private final Examples train;
  private final int globalBatch;
  private final int rank;
  private final int workers;
  private final int microBatches;
  private final long seed;
  private final int bucketBatches;

  /**
   * Plans worker {@code rank} of {@code workers}' part of global batches of {@code globalBatch} rows
   * of {@code train} (the whole training set), in micro-batches of at most {@code batchSize} rows.
   */
  public StepPlan(Examples train, int globalBatch, int batchSize, int rank, int workers, long seed,
      int bucketBatches) {
    if (globalBatch < 1 || batchSize < 1 || workers < 1 || rank < 0 || rank >= workers) {
      throw new IllegalArgumentException("need globalBatch, batchSize, workers >= 1 and rank in [0, workers): "
          + globalBatch + ", " + batchSize + ", " + workers + ", " + rank);
    }
    this.train = train;
    this.globalBatch = globalBatch;
    this.rank = rank;
    this.workers = workers;
    this.microBatches = microBatchesPerStep(globalBatch, workers, batchSize);
    this.seed = seed;
    this.bucketBatches = bucketBatches;
  }

  /**
   * Micro-batches each of {@code workers} workers runs per step so that none has more than
   * {@code batchSize} rows of a {@code globalBatch}-row step: ⌈globalBatch / (workers · batchSize)⌉.
   */
  public static int microBatchesPerStep(int globalBatch, int workers, int batchSize) {
    return (int) ((globalBatch + (long) workers * batchSize - 1) / ((long) workers * batchSize));
  }

  /** Optimizer steps per epoch of {@code rows} training rows in global batches of {@code globalBatch}. */
  public static int stepsPerEpoch(int rows, int globalBatch, int bucketBatches) {
    return BatchPlan.stepsPerEpoch(rows, globalBatch, bucketBatches);
  }

  /** Optimizer steps per epoch, the same on every worker and for every number of workers. */
  public int stepsPerEpoch() {
    return stepsPerEpoch(train.size(), globalBatch, bucketBatches);
  }

  /** Micro-batches this worker runs per step. */
  public int microBatches() {
    return microBatches;
  }

  /**
   * The steps of epoch {@code epoch}: for each, this worker's micro-batches as positions into the
   * training set (some empty when a step has fewer rows than the workers have micro-batches).
   */
  public List<List<int[]>> epoch(int epoch) {
    List<int[]> global = BatchPlan.steps(train, globalBatch, seed, epoch, bucketBatches);
    List<List<int[]>> steps = new ArrayList<>(global.size());
    for (int[] batch : global) {
      steps.add(BatchPlan.microBatches(batch, rank, workers, microBatches));
    }
    return steps;
  }
}
