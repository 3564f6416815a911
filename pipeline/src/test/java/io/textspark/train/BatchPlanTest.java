package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.Test;

class BatchPlanTest {
  /** N rows with idx 7 + 2i and the given lengths ([CLS] and [SEP] included). */
  private static Examples synthetic(int n, IntUnaryOperator length) {
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      idx[i] = 7 + 2 * i;
      label[i] = i % 2;
      domain[i] = i % 4 == 0 ? "out" : "in";
      int len = length.applyAsInt(i);
      ids[i] = new int[len];
      Arrays.fill(ids[i], 2000 + i);
      ids[i][0] = 101;
      ids[i][len - 1] = 102;
    }
    return Examples.of(idx, label, domain, ids);
  }

  /** Lengths like CoLA's BERT tokenization: mostly 8–15 tokens, a long tail up to 45. */
  private static Examples colaLike(int n) {
    Random r = new Random(20240607L);
    int[] lengths = new int[n];
    for (int i = 0; i < n; i++) {
      double logNormal = Math.exp(2.35 + 0.45 * r.nextGaussian());
      lengths[i] = (int) Math.max(5, Math.min(45, Math.round(logNormal)));
    }
    return synthetic(n, i -> lengths[i]);
  }

  private static int[] flatten(List<int[]> batches) {
    return batches.stream().flatMapToInt(Arrays::stream).toArray();
  }

  /** How often each position occurs over all ranks' plans of one epoch. */
  private static int[] counts(Examples ex, int mb, long seed, int epoch, int world, int bb) {
    int[] c = new int[ex.size()];
    for (int rank = 0; rank < world; rank++) {
      for (int p : flatten(BatchPlan.plan(ex, mb, seed, epoch, rank, world, bb))) {
        c[p]++;
      }
    }
    return c;
  }

  @Test
  void samePlanForSameSeedAndEpochOtherwiseDifferent() {
    Examples ex = synthetic(97, i -> 3 + i % 11);
    List<int[]> a = BatchPlan.plan(ex, 8, 42L, 3, 1, 2, 4);
    List<int[]> b = BatchPlan.plan(ex, 8, 42L, 3, 1, 2, 4);
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i), b.get(i), "batch " + i);
    }
    int[] flat = flatten(a);
    assertFalse(Arrays.equals(flat, flatten(BatchPlan.plan(ex, 8, 42L, 4, 1, 2, 4))),
        "epoch 4 repeats epoch 3's order");
    assertFalse(Arrays.equals(flat, flatten(BatchPlan.plan(ex, 8, 43L, 3, 1, 2, 4))),
        "seed 43 repeats seed 42's order");
  }

  @Test
  void planDependsOnIdxNotOnInputOrder() {
    int n = 50;
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      // Input in reverse idx order, as if another partitioning delivered it.
      int k = n - 1 - i;
      idx[i] = 7 + 2 * k;
      label[i] = k % 2;
      domain[i] = k % 4 == 0 ? "out" : "in";
      int len = 3 + k % 11;
      ids[i] = new int[len];
      Arrays.fill(ids[i], 2000 + k);
      ids[i][0] = 101;
      ids[i][len - 1] = 102;
    }
    Examples reversed = Examples.of(idx, label, domain, ids);
    Examples forward = synthetic(n, i -> 3 + i % 11);
    List<int[]> a = BatchPlan.plan(forward, 4, 5L, 0, 0, 1, 2);
    List<int[]> b = BatchPlan.plan(reversed, 4, 5L, 0, 0, 1, 2);
    for (int i = 0; i < a.size(); i++) {
      for (int j = 0; j < a.get(i).length; j++) {
        assertEquals(forward.idx(a.get(i)[j]), reversed.idx(b.get(i)[j]));
      }
    }
  }

  @Test
  void everyExampleExactlyOnceWhenNDividesByWorld() {
    Examples ex = synthetic(120, i -> 3 + (i * 7) % 20);
    for (int epoch = 0; epoch < 3; epoch++) {
      int[] c = counts(ex, 8, 11L, epoch, 4, 3);
      for (int p = 0; p < c.length; p++) {
        assertEquals(1, c[p], "position " + p + " in epoch " + epoch);
      }
    }
  }

  @Test
  void wrapAroundFillsExactlyCeilSlotsPerRank() {
    // N = 103, W = 4: ceil(103/4) = 26 per rank, 104 slots, so exactly one example is repeated.
    Examples ex = synthetic(103, i -> 3 + i % 9);
    int[] c = counts(ex, 8, 11L, 2, 4, 4);
    assertEquals(104, Arrays.stream(c).sum());
    assertEquals(0, Arrays.stream(c).filter(x -> x == 0).count(), "an example was skipped");
    assertEquals(1, Arrays.stream(c).filter(x -> x == 2).count());
    assertEquals(102, Arrays.stream(c).filter(x -> x == 1).count());
    for (int rank = 0; rank < 4; rank++) {
      assertEquals(26, flatten(BatchPlan.plan(ex, 8, 11L, 2, rank, 4, 4)).length);
    }

    // More ranks than examples: N = 3, W = 5 gives 5 slots, so two examples are seen twice.
    Examples tiny = synthetic(3, i -> 4);
    int[] t = counts(tiny, 2, 1L, 0, 5, 2);
    int[] sorted = t.clone();
    Arrays.sort(sorted);
    assertArrayEquals(new int[] {1, 2, 2}, sorted);
  }

  @Test
  void everyRankHasTheSameNumberOfMicroBatches() {
    // N = 103, W = 3, micro-batch 8, 4 per window: 35 per rank, so 4 full batches and one of 3.
    Examples ex = synthetic(103, i -> 3 + (i * 5) % 17);
    assertEquals(5, BatchPlan.batchesPerEpoch(103, 8, 3));
    for (int rank = 0; rank < 3; rank++) {
      List<int[]> plan = BatchPlan.plan(ex, 8, 9L, 1, rank, 3, 4);
      int[] sizes = plan.stream().mapToInt(b -> b.length).sorted().toArray();
      assertArrayEquals(new int[] {3, 8, 8, 8, 8}, sizes, "rank " + rank);
    }
    // Other shapes where N is not a multiple of W times the micro-batch.
    int[][] shapes = {{1000, 32, 2, 50}, {1001, 32, 3, 7}, {33, 16, 4, 1}, {5, 4, 8, 3}};
    for (int[] s : shapes) {
      Examples e = synthetic(s[0], i -> 3 + i % 13);
      int expected = BatchPlan.batchesPerEpoch(s[0], s[1], s[2]);
      assertEquals((((s[0] + s[2] - 1) / s[2]) + s[1] - 1) / s[1], expected);
      for (int rank = 0; rank < s[2]; rank++) {
        assertEquals(expected, BatchPlan.plan(e, s[1], 3L, 0, rank, s[2], s[3]).size(),
            Arrays.toString(s) + " rank " + rank);
      }
    }
  }

  @Test
  void microBatchOrderIsShuffledAfterBucketing() {
    // One window holds all batches; without the final shuffle their lengths would only ascend.
    Examples ex = synthetic(256, i -> 3 + (i * 7) % 40);
    List<int[]> plan = BatchPlan.plan(ex, 8, 1L, 0, 0, 1, 32);
    int[] maxLen = plan.stream()
        .mapToInt(b -> Arrays.stream(b).map(ex::length).max().orElseThrow()).toArray();
    int[] ascending = maxLen.clone();
    Arrays.sort(ascending);
    assertFalse(Arrays.equals(ascending, maxLen), "batches came out in length order");
    // Inside each batch the rows are length-sorted, as cut from the sorted window.
    for (int[] b : plan) {
      for (int j = 1; j < b.length; j++) {
        assertTrue(ex.length(b[j - 1]) <= ex.length(b[j]));
      }
    }
  }

  /** Padding slots over all slots of every rank's batches; computed without PaddedBatch. */
  private static double paddingFraction(Examples ex, int mb, int world, int bb) {
    long slots = 0;
    long real = 0;
    for (int rank = 0; rank < world; rank++) {
      for (int[] b : BatchPlan.plan(ex, mb, 17L, 0, rank, world, bb)) {
        int max = 0;
        for (int p : b) {
          max = Math.max(max, ex.length(p));
          real += ex.length(p);
        }
        slots += (long) max * b.length;
      }
    }
    return (double) (slots - real) / slots;
  }

  @Test
  void bucketingAtLeastHalvesPaddingOnColaLikeLengths() {
    Examples ex = colaLike(8551);
    // bucketBatches = 1 sorts only inside each batch, which is the same padding as random.
    double random = paddingFraction(ex, 32, 2, 1);
    double bucketed = paddingFraction(ex, 32, 2, 50);
    String msg = String.format("padding fraction: random batches %.4f, bucketed %.4f",
        random, bucketed);
    System.out.println(msg);
    assertTrue(bucketed * 2 <= random, msg);
  }

  @Test
  void sequentialCoversEachExampleOnceInOrderOrByLength() {
    Examples ex = synthetic(10, i -> new int[] {9, 3, 5, 3, 12, 4, 3, 8, 5, 6}[i]);
    List<int[]> plain = BatchPlan.sequential(ex, 4, false);
    assertEquals(3, plain.size());
    assertArrayEquals(new int[] {0, 1, 2, 3}, plain.get(0));
    assertArrayEquals(new int[] {4, 5, 6, 7}, plain.get(1));
    assertArrayEquals(new int[] {8, 9}, plain.get(2));

    List<int[]> byLength = BatchPlan.sequential(ex, 4, true);
    // Lengths 3,3,3 at 1,3,6; 4 at 5; 5,5 at 2,8; 6 at 9; 8 at 7; 9 at 0; 12 at 4.
    assertArrayEquals(new int[] {1, 3, 6, 5}, byLength.get(0));
    assertArrayEquals(new int[] {2, 8, 9, 7}, byLength.get(1));
    assertArrayEquals(new int[] {0, 4}, byLength.get(2));
  }

  @Test
  void rejectsImpossibleArguments() {
    Examples ex = synthetic(10, i -> 4);
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.plan(ex, 4, 0L, 0, 2, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.plan(ex, 0, 0L, 0, 0, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.plan(ex, 4, 0L, 0, 0, 2, 0));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.sequential(ex, 0, true));
    List<int[]> ok = new ArrayList<>(BatchPlan.plan(ex, 4, 0L, 0, 1, 2, 1));
    assertEquals(2, ok.size());
  }
}
