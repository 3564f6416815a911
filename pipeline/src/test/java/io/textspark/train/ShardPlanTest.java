package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Sharded plans: every worker plans from its own shard yet the workers together cover each row once per epoch. */
class ShardPlanTest {
  /** n rows with idx 3i + 1 (gaps, as real idx may have) and lengths 3 to 24. */
  private static Examples rows(int n) {
    Random r = new Random(11);
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      idx[i] = 3 * i + 1;
      label[i] = i % 2;
      domain[i] = "in";
      ids[i] = new int[3 + r.nextInt(22)];
      Arrays.fill(ids[i], 9);
    }
    return Examples.of(idx, label, domain, ids);
  }

  /** The rows of shard s of {@code all}, as a worker would build them from its partition. */
  private static Examples shard(Examples all, int s, int shards) {
    int[] positions = new int[Sharding.rowsOf(s, shards, all.size())];
    for (int i = 0; i < positions.length; i++) {
      positions[i] = s + i * shards;
    }
    return all.subset(positions);
  }

  private static Set<Integer> idxOf(Examples ex, List<int[]> micro) {
    Set<Integer> out = new TreeSet<>();
    for (int[] mb : micro) {
      for (int p : mb) {
        out.add(ex.idx(p));
      }
    }
    return out;
  }

  @Test
  void oneShardIsTheSingleWorkerPlanOfOld() {
    Examples ex = rows(100);
    ShardPlan plan = new ShardPlan(ex, Sharding.whole(100), 12, 3, 42, 2);
    List<int[]> global = BatchPlan.steps(ex, 12, 42, 1, 2);
    List<List<int[]>> steps = plan.epoch(1);
    assertEquals(global.size(), steps.size());
    assertEquals(BatchPlan.stepsPerEpoch(100, 12, 2), plan.stepsPerEpoch());
    for (int t = 0; t < steps.size(); t++) {
      List<int[]> expected = BatchPlan.microBatches(global.get(t), 0, 1, 3);
      for (int j = 0; j < 3; j++) {
        assertArrayEquals(expected.get(j), steps.get(t).get(j));
      }
    }
  }

  @Test
  void workersTogetherComputeWhatOneWorkerHoldingEveryShardComputes() {
    int n = 103;
    int shards = 3;
    Examples all = rows(n);
    ShardPlan reference = new ShardPlan(all, Sharding.all(shards, n), 8, 1, 42, 2);
    List<ShardPlan> workers = new ArrayList<>();
    List<Examples> held = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      held.add(shard(all, s, shards));
      workers.add(new ShardPlan(held.get(s), Sharding.one(s, shards, n), 8, 2, 42, 2));
      assertEquals(reference.stepsPerEpoch(), workers.get(s).stepsPerEpoch(), "same steps on every worker");
    }
    for (int epoch = 0; epoch < 3; epoch++) {
      List<List<int[]>> ref = reference.epoch(epoch);
      Set<Integer> seen = new TreeSet<>();
      int emptySteps = 0;
      for (int t = 0; t < ref.size(); t++) {
        Set<Integer> union = new TreeSet<>();
        for (int s = 0; s < shards; s++) {
          List<int[]> micro = workers.get(s).epoch(epoch).get(t);
          assertEquals(2, micro.size(), "accumulate micro-batches");
          Set<Integer> mine = idxOf(held.get(s), micro);
          emptySteps += mine.isEmpty() ? 1 : 0;
          for (int i : mine) {
            assertEquals(s, ((i - 1) / 3) % shards, "a worker only sees rows of its own shard");
          }
          union.addAll(mine);
        }
        assertEquals(idxOf(all, ref.get(t)), union, "epoch " + epoch + " step " + t);
        assertTrue(union.size() <= 8 * shards);
        for (int i : union) {
          assertTrue(seen.add(i), "row " + i + " twice in epoch " + epoch);
        }
      }
      assertEquals(n, seen.size(), "every row once per epoch");
      assertTrue(emptySteps <= shards - 1, "only a smaller shard's last step is empty: " + emptySteps);
    }
  }

  @Test
  void eachShardIsReshuffledEveryEpoch() {
    Examples ex = shard(rows(200), 1, 2);
    ShardPlan plan = new ShardPlan(ex, Sharding.one(1, 2, 200), 10, 1, 7, 1);
    int[] e0 = plan.epoch(0).stream().flatMapToInt(m -> Arrays.stream(m.get(0))).toArray();
    int[] e1 = plan.epoch(1).stream().flatMapToInt(m -> Arrays.stream(m.get(0))).toArray();
    assertArrayEquals(e0, plan.epoch(0).stream().flatMapToInt(m -> Arrays.stream(m.get(0))).toArray());
    assertFalse(Arrays.equals(e0, e1));
  }

  @Test
  void theSmallerShardRunsAnEmptyStepRatherThanLeavingOthersWaiting() {
    // 33 rows in 2 shards of 17 and 16 rows, 16 rows per shard batch: shard 0 needs 2 steps, shard 1 one.
    Examples all = rows(33);
    ShardPlan big = new ShardPlan(shard(all, 0, 2), Sharding.one(0, 2, 33), 16, 1, 1, 1);
    ShardPlan small = new ShardPlan(shard(all, 1, 2), Sharding.one(1, 2, 33), 16, 1, 1, 1);
    assertEquals(2, big.stepsPerEpoch());
    assertEquals(2, small.stepsPerEpoch());
    for (int epoch = 0; epoch < 4; epoch++) {
      List<List<int[]>> steps = small.epoch(epoch);
      int a = steps.get(0).get(0).length;
      int b = steps.get(1).get(0).length;
      assertEquals(16, a + b);
      assertTrue(a == 0 || b == 0, "one full step and one empty one: " + a + ", " + b);
    }
  }

  @Test
  void workersGetBatchesOfSimilarLengthAtEveryStep() {
    // Lengths spread like CoLA's; each shard sorts its own windows by length, and the shared batch
    // order makes step t take the same place of the same window on both shards.
    Random r = new Random(3);
    int n = 4000;
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
      domain[i] = "in";
      ids[i] = new int[(int) Math.max(4, Math.min(60, Math.round(Math.exp(2.35 + 0.45 * r.nextGaussian()))))];
    }
    Examples all = Examples.of(idx, label, domain, ids);
    List<List<List<int[]>>> plans = new ArrayList<>();
    List<Examples> held = new ArrayList<>();
    for (int s = 0; s < 2; s++) {
      held.add(shard(all, s, 2));
      plans.add(new ShardPlan(held.get(s), Sharding.one(s, 2, n), 32, 1, 42, 50).epoch(0));
    }
    double gap = 0;
    double spread = 0;
    int steps = plans.get(0).size();
    for (int t = 0; t < steps; t++) {
      int[] longest = new int[2];
      for (int s = 0; s < 2; s++) {
        for (int p : plans.get(s).get(t).get(0)) {
          longest[s] = Math.max(longest[s], held.get(s).length(p));
        }
      }
      gap += Math.abs(longest[0] - longest[1]);
      spread += longest[0];
    }
    // Padded length per step differs between the workers by a few tokens, not by the spread of lengths.
    assertTrue(gap / steps < 0.15 * spread / steps, "mean gap " + gap / steps + " vs mean length " + spread / steps);
  }

  @Test
  void refusesRowsThatAreNotTheShardItClaims() {
    Examples all = rows(10);
    assertThrows(IllegalArgumentException.class, () -> new ShardPlan(all, Sharding.one(0, 2, 10), 4, 1, 1, 1));
    assertThrows(IllegalArgumentException.class,
        () -> new ShardPlan(shard(all, 0, 3), new Sharding(3, new int[] {0, 1}, 10), 4, 1, 1, 1));
    assertEquals(4, Sharding.rowsOf(0, 3, 10));
    assertEquals(3, Sharding.rowsOf(2, 3, 10));
    assertEquals(0, Sharding.rowsOf(4, 5, 3));
  }
}
