package io.textspark.train;

/**
 * Linear warmup from 0 to the peak learning rate, then linear decay to 0 at the last step, as in
 * Hugging Face's {@code get_linear_schedule_with_warmup}.
 *
 * <p>The step is the number of optimizer updates already made, so the first update uses {@code
 * at(0)}, which is 0 when there is a warmup (as with the Hugging Face scheduler, whose first
 * {@code optimizer.step()} runs before the first {@code scheduler.step()}).
 */
public final class LrSchedule {
  private final double peak;
  private final long warmupSteps;
  private final long totalSteps;

  /** Creates a schedule that peaks at peak after warmupSteps and reaches 0 at totalSteps. */
  public LrSchedule(double peak, long warmupSteps, long totalSteps) {
    if (!(peak >= 0) || warmupSteps < 0 || totalSteps < 0) {
      throw new IllegalArgumentException(
          "need peak >= 0, warmupSteps >= 0 and totalSteps >= 0 but got "
              + peak
              + ", "
              + warmupSteps
              + ", "
              + totalSteps);
    }
    this.peak = peak;
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
  }

  /** The learning rate for the update made after step earlier updates. */
  public double at(long step) {
    if (step < warmupSteps) {
      return peak * (double) step / (double) Math.max(1, warmupSteps);
    }
    // max(1, ...) as in Hugging Face keeps warmupSteps == totalSteps from dividing by zero.
    double remaining =
        (double) (totalSteps - step) / (double) Math.max(1, totalSteps - warmupSteps);
    return peak * Math.max(0.0, remaining);
  }

  /** The peak learning rate. */
  public double peak() {
    return peak;
  }

  /** The number of warmup steps. */
  public long warmupSteps() {
    return warmupSteps;
  }

  /** The step at which the learning rate reaches 0. */
  public long totalSteps() {
    return totalSteps;
  }
}
