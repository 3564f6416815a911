package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Step plans: the global batches do not depend on the workers, and the workers together train on each once. */
class StepPlanTest {
  /** n rows with idx 3i + 1 (gaps, as real idx may have) and lengths spread like CoLA's. */
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
      ids[i] = new int[(int) Math.max(4, Math.min(60, Math.round(Math.exp(2.35 + 0.45 * r.nextGaussian()))))];
      Arrays.fill(ids[i], 9);
    }
    return Examples.of(idx, label, domain, ids);
  }

  private static Set<Integer> positions(List<int[]> micro) {
    Set<Integer> out = new TreeSet<>();
    for (int[] mb : micro) {
      for (int p : mb) {
        assertTrue(out.add(p), "position " + p + " twice in one step");
      }
    }
    return out;
  }

  @Test
  void everyNumberOfWorkersSplitsTheSameGlobalBatches() {
    Examples all = rows(203);
    int global = 24;
    for (int workers : new int[] {1, 2, 3, 5}) {
      int batch = 4;
      StepPlan[] plans = new StepPlan[workers];
      for (int r = 0; r < workers; r++) {
        plans[r] = new StepPlan(all, global, batch, r, workers, 42, 3);
        assertEquals(BatchPlan.stepsPerEpoch(203, global, 3), plans[r].stepsPerEpoch());
        assertEquals((global + workers * batch - 1) / (workers * batch), plans[r].microBatches());
      }
      for (int epoch = 0; epoch < 2; epoch++) {
        List<int[]> expected = BatchPlan.steps(all, global, 42, epoch, 3);
        for (int t = 0; t < expected.size(); t++) {
          Set<Integer> union = new TreeSet<>();
          int largest = 0;
          int smallest = Integer.MAX_VALUE;
          for (int r = 0; r < workers; r++) {
            List<int[]> micro = plans[r].epoch(epoch).get(t);
            int rows = 0;
            for (int[] mb : micro) {
              assertTrue(mb.length <= batch, "a micro-batch of " + mb.length + " rows, more than train.batch_size");
              rows += mb.length;
            }
            largest = Math.max(largest, rows);
            smallest = Math.min(smallest, rows);
            Set<Integer> mine = positions(micro);
            int before = union.size();
            union.addAll(mine);
            assertEquals(before + mine.size(), union.size(), "no row on two workers");
          }
          assertEquals(positions(List.of(expected.get(t))), union, workers + " workers, epoch " + epoch + " step " + t);
          assertTrue(largest - smallest <= plans[0].microBatches(), "workers get about equal parts: " + smallest
              + " to " + largest + " rows");
        }
      }
    }
  }

  @Test
  void fewerWorkersRunMoreMicroBatchesOfAtMostTheBatchSize() {
    assertEquals(2, StepPlan.microBatchesPerStep(16, 2, 4), "train.workers=2 x accumulate 2 x batch 4");
    assertEquals(4, StepPlan.microBatchesPerStep(16, 1, 4), "the same global batch on one worker");
    assertEquals(2, StepPlan.microBatchesPerStep(24, 3, 5), "24 rows on 3 workers: 8 each, in 2 of at most 5");
    assertEquals(1, StepPlan.microBatchesPerStep(16, 1, 32));
  }

  @Test
  void workersGetRowsOfSimilarLengthAtEveryStep() {
    // Rows are dealt round-robin from a length-sorted global batch, so every worker's longest row,
    // which sets its padded length, is close to the others'.
    Examples all = rows(4000);
    StepPlan a = new StepPlan(all, 64, 32, 0, 2, 42, 50);
    StepPlan b = new StepPlan(all, 64, 32, 1, 2, 42, 50);
    List<List<int[]>> pa = a.epoch(0);
    List<List<int[]>> pb = b.epoch(0);
    double gap = 0;
    double spread = 0;
    for (int t = 0; t < pa.size(); t++) {
      int la = 0;
      int lb = 0;
      for (int p : pa.get(t).get(0)) {
        la = Math.max(la, all.length(p));
      }
      for (int p : pb.get(t).get(0)) {
        lb = Math.max(lb, all.length(p));
      }
      gap += Math.abs(la - lb);
      spread += la;
    }
    assertTrue(gap < 0.05 * spread, "mean gap " + gap / pa.size() + " vs mean length " + spread / pa.size());
  }

  @Test
  void refusesImpossiblePlans() {
    Examples all = rows(10);
    assertThrows(IllegalArgumentException.class, () -> new StepPlan(all, 8, 4, 2, 2, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new StepPlan(all, 0, 4, 0, 1, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new StepPlan(all, 8, 0, 0, 1, 1, 1));
  }
}
