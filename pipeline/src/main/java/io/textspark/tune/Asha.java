package io.textspark.tune;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Asynchronous successive halving (Li et al. 2018, "A System for Massively Parallel Hyperparameter
 * Tuning"; the rule of Ray Tune's AsyncHyperBand): rungs at {@code grace}, {@code grace × factor},
 * {@code grace × factor²}, ... validations. A trial reaching a rung records its monitored value
 * there and goes on when no other trial has recorded one at that rung yet, or when its value is at
 * least as good as the (1 − 1/factor) quantile (linear interpolation) of the values the others
 * recorded there before it; otherwise it stops. Decisions never wait for other trials, so a slot
 * is never idle, and the first trials at a rung always go on. Pure logic; the tuner calls it from
 * several threads, hence the synchronisation.
 */
public final class Asha {
  private final int grace;
  private final int factor;
  private final boolean maximize;
  /** rung (validations) -> trial -> value, in the order recorded. */
  private final Map<Integer, Map<String, Double>> recorded = new HashMap<>();

  /** Rungs from {@code grace} validations, growing by {@code factor}; {@code maximize} when larger is better. */
  public Asha(int grace, int factor, boolean maximize) {
    if (grace < 1 || factor < 2) {
      throw new IllegalArgumentException("grace must be at least 1 and factor at least 2");
    }
    this.grace = grace;
    this.factor = factor;
    this.maximize = maximize;
  }

  /** The first rung above {@code validations}: where a trial that has validated that often is next judged. */
  public int nextRung(int validations) {
    long rung = grace;
    while (rung <= validations) {
      rung *= factor;
    }
    return (int) Math.min(rung, Integer.MAX_VALUE);
  }

  /** Whether {@code validations} is a rung. */
  public boolean isRung(int validations) {
    long rung = grace;
    while (rung < validations) {
      rung *= factor;
    }
    return rung == validations;
  }

  /**
   * Records {@code trial}'s {@code value} at {@code rung} and decides: true to go on, false to stop.
   * A NaN value stops the trial and is not recorded. Asking again for a trial already recorded
   * there repeats the decision against the values recorded before it.
   */
  public synchronized boolean report(String trial, int rung, double value) {
    Map<String, Double> atRung = recorded.computeIfAbsent(rung, r -> new LinkedHashMap<>());
    List<Double> before = new ArrayList<>();
    for (Map.Entry<String, Double> e : atRung.entrySet()) {
      if (e.getKey().equals(trial)) {
        break;
      }
      before.add(e.getValue());
    }
    if (Double.isNaN(value)) {
      return false;
    }
    atRung.putIfAbsent(trial, value);
    if (before.isEmpty()) {
      return true;
    }
    double q = quantile(before, maximize ? 1 - 1.0 / factor : 1.0 / factor);
    return maximize ? value >= q : value <= q;
  }

  /** Records a decision taken before (a resumed tune), without deciding again. */
  public synchronized void restore(String trial, int rung, double value) {
    if (!Double.isNaN(value)) {
      recorded.computeIfAbsent(rung, r -> new LinkedHashMap<>()).putIfAbsent(trial, value);
    }
  }

  /** The {@code p} quantile of {@code values} with linear interpolation between order statistics. */
  static double quantile(List<Double> values, double p) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    double pos = p * (sorted.size() - 1);
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    return sorted.get(lo) + (pos - lo) * (sorted.get(hi) - sorted.get(lo));
  }
}
