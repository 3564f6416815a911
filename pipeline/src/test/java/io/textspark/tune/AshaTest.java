package io.textspark.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** ASHA's rungs and decisions, value by value. */
class AshaTest {
  @Test
  void rungsStartAtTheGracePeriodAndGrowByTheFactor() {
    Asha a = new Asha(2, 3, true);
    assertEquals(2, a.nextRung(0));
    assertEquals(2, a.nextRung(1));
    assertEquals(6, a.nextRung(2));
    assertEquals(18, a.nextRung(6));
    assertTrue(a.isRung(2));
    assertTrue(a.isRung(18));
    assertFalse(a.isRung(3));
    assertFalse(a.isRung(1));
  }

  @Test
  void aTrialGoesOnWhenInTheTopThirdOfTheValuesBeforeIt() {
    Asha a = new Asha(1, 3, true);
    assertTrue(a.report("a", 1, 0.30), "the first trial at a rung goes on");
    assertTrue(a.report("b", 1, 0.30), "equal to the only value before it: the quantile is that value");
    assertFalse(a.report("c", 1, 0.29), "below the 2/3 quantile of (0.30, 0.30)");
    // before d: 0.30, 0.30, 0.29 -> 2/3 quantile at position 4/3 of (0.29, 0.30, 0.30) = 0.30
    assertFalse(a.report("d", 1, 0.299));
    assertTrue(a.report("e", 1, 0.5));
    assertTrue(a.report("a", 3, 0.1), "rungs are independent");
    assertFalse(a.report("e", 3, 0.05));
  }

  @Test
  void minimisingKeepsTheSmallestValues() {
    Asha a = new Asha(1, 2, false);
    assertTrue(a.report("a", 1, 0.6));
    assertTrue(a.report("b", 1, 0.5));
    // before c: 0.6, 0.5 -> 1/2 quantile 0.55
    assertFalse(a.report("c", 1, 0.56));
    assertTrue(a.report("d", 1, 0.55));
    assertFalse(a.report("e", 1, Double.NaN), "a NaN value stops the trial");
  }

  @Test
  void askingAgainRepeatsTheDecisionAndRestoredValuesCount() {
    Asha a = new Asha(1, 2, true);
    a.restore("a", 1, 0.8);
    assertFalse(a.report("b", 1, 0.7));
    assertFalse(a.report("b", 1, 0.7), "same decision against the values recorded before b");
    assertTrue(a.report("a", 1, 0.8));
  }

  @Test
  void quantileInterpolatesLinearly() {
    assertEquals(2.5, Asha.quantile(List.of(4.0, 1.0, 2.0, 3.0), 0.5), 1e-12);
    assertEquals(3.0, Asha.quantile(List.of(1.0, 2.0, 3.0), 1.0), 1e-12);
    assertEquals(1.0, Asha.quantile(List.of(1.0), 0.66), 1e-12);
  }
}
