package io.textspark.batch;

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

  @Test
  void samePlanForSameSeedAndEpochOtherwiseDifferent() {
    Examples ex = colaLike(300);
    int[] a = flatten(BatchPlan.steps(ex, 16, 42L, 3, 4));
    assertArrayEquals(a, flatten(BatchPlan.steps(ex, 16, 42L, 3, 4)));
    assertFalse(Arrays.equals(a, flatten(BatchPlan.steps(ex, 16, 42L, 4, 4))), "another epoch, another order");
    assertFalse(Arrays.equals(a, flatten(BatchPlan.steps(ex, 16, 43L, 3, 4))), "another seed, another order");
  }

  @Test
  void planDependsOnIdxNotOnInputOrder() {
    int n = 50;
    int[] idx = new int[n];
    int[] label = new int[n];
    String[] domain = new String[n];
    int[][] ids = new int[n][];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
      domain[i] = "in";
      ids[i] = new int[] {101, 1000 + i, 102};
    }
    Examples forward = Examples.of(idx, label, domain, ids);
    int[] rIdx = new int[n];
    int[][] rIds = new int[n][];
    for (int i = 0; i < n; i++) {
      rIdx[i] = idx[n - 1 - i];
      rIds[i] = ids[n - 1 - i];
    }
    Examples reversed = Examples.of(rIdx, label, domain, rIds);
    assertArrayEquals(flatten(BatchPlan.steps(forward, 4, 5L, 0, 2)), flatten(BatchPlan.steps(reversed, 4, 5L, 0, 2)));
  }

  @Test
  void everyExampleExactlyOncePerEpochInStepsOfTheGlobalBatch() {
    Examples ex = colaLike(1003);
    List<int[]> steps = BatchPlan.steps(ex, 32, 7L, 2, 10);
    int[] seen = new int[ex.size()];
    for (int p : flatten(steps)) {
      seen[p]++;
    }
    for (int c : seen) {
      assertEquals(1, c);
    }
    // 1003 = 3 full windows of 320 (10 batches each) + 43 rows (2 batches): 32 steps.
    assertEquals(32, steps.size());
    assertEquals(32, BatchPlan.stepsPerEpoch(1003, 32, 10));
    // Full windows divide into whole batches; only the last window (43 rows) ends with a short one.
    assertEquals(1, steps.stream().filter(b -> b.length < 32).count());
  }

  @Test
  void microBatchesSplitAGlobalBatchExactlyOnceAcrossWorkers() {
    int[] batch = new int[23];
    for (int i = 0; i < batch.length; i++) {
      batch[i] = 100 + i;
    }
    int[] seen = new int[batch.length];
    List<Integer> sizes = new ArrayList<>();
    for (int rank = 0; rank < 2; rank++) {
      List<int[]> micro = BatchPlan.microBatches(batch, rank, 2, 2);
      assertEquals(2, micro.size(), "accumulate micro-batches per worker");
      for (int[] m : micro) {
        sizes.add(m.length);
        for (int p : m) {
          seen[p - 100]++;
        }
      }
    }
    for (int c : seen) {
      assertEquals(1, c);
    }
    assertEquals(List.of(6, 6, 6, 5), sizes);
    // Round-robin: micro-batch 1 (rank 0, second) holds rows 1, 5, 9, ...
    assertArrayEquals(new int[] {101, 105, 109, 113, 117, 121}, BatchPlan.microBatches(batch, 0, 2, 2).get(1));
    // Fewer rows than workers x accumulate: some micro-batches are empty, none is lost.
    List<int[]> tiny = BatchPlan.microBatches(new int[] {1, 2, 3}, 1, 2, 2);
    assertArrayEquals(new int[] {3}, tiny.get(0));
    assertEquals(0, tiny.get(1).length);
  }

  @Test
  void theSameStepsWhateverTheSplit() {
    Examples ex = colaLike(200);
    // 1 worker x 1 x 32 and 2 workers x 2 x 8 see the same rows in every step.
    List<int[]> steps = BatchPlan.steps(ex, 32, 3L, 1, 5);
    for (int[] step : steps) {
      int[] whole = BatchPlan.microBatches(step, 0, 1, 1).get(0).clone();
      List<Integer> split = new ArrayList<>();
      for (int rank = 0; rank < 2; rank++) {
        for (int[] m : BatchPlan.microBatches(step, rank, 2, 2)) {
          assertTrue(m.length <= 8);
          Arrays.stream(m).forEach(split::add);
        }
      }
      int[] parts = split.stream().mapToInt(Integer::intValue).sorted().toArray();
      Arrays.sort(whole);
      assertArrayEquals(whole, parts);
    }
  }

  @Test
  void batchOrderIsShuffledAfterBucketing() {
    // One window holds all batches; without the final shuffle their lengths would only ascend.
    Examples ex = synthetic(256, i -> 3 + (i * 7) % 40);
    List<int[]> plan = BatchPlan.steps(ex, 8, 1L, 0, 32);
    int[] maxLen = plan.stream()
        .mapToInt(b -> Arrays.stream(b).map(ex::length).max().orElseThrow()).toArray();
    int[] ascending = maxLen.clone();
    Arrays.sort(ascending);
    assertFalse(Arrays.equals(ascending, maxLen), "batches came out in length order");
    for (int[] b : plan) {
      for (int j = 1; j < b.length; j++) {
        assertTrue(ex.length(b[j - 1]) <= ex.length(b[j]), "rows of a batch are length-sorted");
      }
    }
  }

  /** Padding slots over all slots of the micro-batches of 2 workers; computed without PaddedBatch. */
  private static double paddingFraction(Examples ex, int bb) {
    long slots = 0;
    long real = 0;
    for (int[] step : BatchPlan.steps(ex, 64, 17L, 0, bb)) {
      for (int rank = 0; rank < 2; rank++) {
        int[] b = BatchPlan.microBatches(step, rank, 2, 1).get(0);
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
    double random = paddingFraction(ex, 1);
    double bucketed = paddingFraction(ex, 50);
    String msg = String.format("padding fraction: random batches %.4f, bucketed %.4f", random, bucketed);
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
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.steps(ex, 0, 0L, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.steps(ex, 4, 0L, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.steps(ex, 4, 0L, -1, 1));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.microBatches(new int[4], 2, 2, 1));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.microBatches(new int[4], 0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> BatchPlan.sequential(ex, 0, true));
    assertEquals(3, BatchPlan.steps(ex, 4, 0L, 0, 1).size());
  }
}
