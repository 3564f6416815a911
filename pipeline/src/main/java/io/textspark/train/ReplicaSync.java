package io.textspark.train;

import ai.djl.ndarray.NDArray;
import io.textspark.TextSparkException;
import io.textspark.collective.Collective;
import io.textspark.console.Console;
import io.textspark.metrics.MetricsSink;
import java.nio.FloatBuffer;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Keeps one worker's model replica in step with the others: the start from rank 0's weights, the
 * per-step gradient sum through one flat buffer, and the timing of every collective call, which
 * rank 0 reports per rank so that stragglers show.
 */
final class ReplicaSync {
  private final Collective collective;
  // The flat buffer gradients are summed in, reused by every step.
  private float[] flat;
  // Seconds this worker spent inside collective calls since it last reported its timings.
  private double collectiveSeconds;
  // The part of collectiveSeconds spent waiting for other workers to reach the call.
  private double waitSeconds;

  ReplicaSync(Collective collective) {
    this.collective = collective;
  }

  /** Sums every worker's gradients in place, through one flat buffer (one collective call per step). */
  void allReduceGradients(Map<String, NDArray> grads) {
    float[] buffer = flatten(grads.values());
    timed(() -> collective.allReduceSum(buffer));
    unflatten(buffer, grads.values(), false);
  }

  /** Makes every replica start from rank 0's weights (its fresh head in particular). */
  void broadcastWeights(Collection<NDArray> parameters) {
    float[] buffer = flatten(parameters);
    timed(() -> collective.broadcast(buffer));
    unflatten(buffer, parameters, true);
  }

  /** Sums {@code values} over the workers in place. */
  void allReduceSum(double[] values) {
    timed(() -> collective.allReduceSum(values));
  }

  /** Starts new tallies of time in collective calls. */
  void resetTimes() {
    collectiveSeconds = 0;
    waitSeconds = 0;
  }

  private float[] flatten(Collection<NDArray> arrays) {
    long total = 0;
    for (NDArray a : arrays) {
      total += a.size();
    }
    if (total > Integer.MAX_VALUE - 8) {
      throw new TextSparkException("the model has " + total + " parameters, more than one flat buffer holds");
    }
    if (flat == null || flat.length != total) {
      flat = new float[(int) total];
    }
    int offset = 0;
    for (NDArray a : arrays) {
      float[] values = a.toFloatArray();
      System.arraycopy(values, 0, flat, offset, values.length);
      offset += values.length;
    }
    return flat;
  }

  /**
   * Copies {@code buffer} back into the arrays in place. Not with {@code NDArray.set(Buffer)}: on
   * the CPU that makes the tensor borrow a direct buffer owned by the Java handle, and a gradient
   * handle is closed after the step while the parameter's gradient lives on, pointing at freed
   * memory (NaN gradients, then a crash). In-place arithmetic keeps each tensor's own storage.
   */
  private static void unflatten(float[] buffer, Collection<NDArray> arrays, boolean parameters) {
    int offset = 0;
    for (NDArray a : arrays) {
      int n = (int) a.size();
      try (NDArray values = a.getManager().create(FloatBuffer.wrap(buffer, offset, n).slice(), a.getShape())) {
        if (parameters) {
          // Through a detached view, as the optimizer writes parameters (see AdamW).
          try (NDArray view = a.stopGradient()) {
            view.muli(0).addi(values);
          }
        } else {
          a.muli(0).addi(values);
        }
      }
      offset += n;
    }
  }

  /** Runs a collective call, adding its wall time and the part spent waiting for slower workers to the tallies. */
  private void timed(Runnable call) {
    long start = System.nanoTime();
    long waitedBefore = collective.callNanos()[1];
    try {
      call.run();
    } finally {
      collectiveSeconds += (System.nanoTime() - start) / 1e9;
      waitSeconds += (collective.callNanos()[1] - waitedBefore) / 1e9;
    }
  }

  /**
   * Gathers every worker's mean step time and time in collective calls since the last report; rank 0
   * prints them and logs them, so a straggler (long steps, short waits) stands out from workers that
   * wait for it (short steps, long waits).
   */
  void reportTimings(double stepSeconds, long steps, long globalStep, int epoch, MetricsSink logs, boolean writer) {
    int n = collective.size();
    if (n == 1) {
      return;
    }
    double[] times = new double[3 * n];
    times[3 * collective.rank()] = stepSeconds;
    times[3 * collective.rank() + 1] = collectiveSeconds / steps;
    times[3 * collective.rank() + 2] = waitSeconds / steps;
    collective.allReduceSum(times);
    if (collective.rank() != 0) {
      return;
    }
    Map<String, Double> scalars = new LinkedHashMap<>();
    StringBuilder stepTimes = new StringBuilder();
    StringBuilder comm = new StringBuilder();
    StringBuilder waits = new StringBuilder();
    double share = 0;
    for (int r = 0; r < n; r++) {
      scalars.put("time/step_seconds/rank" + r, times[3 * r]);
      scalars.put("time/allreduce_seconds/rank" + r, times[3 * r + 1]);
      scalars.put("time/wait_seconds/rank" + r, times[3 * r + 2]);
      stepTimes.append(String.format(Locale.ROOT, " %.3f", times[3 * r]));
      comm.append(String.format(Locale.ROOT, " %.3f", times[3 * r + 1]));
      waits.append(String.format(Locale.ROOT, " %.3f", times[3 * r + 2]));
      share += (times[3 * r + 1] - times[3 * r + 2]) / Math.max(1e-12, times[3 * r]) / n;
    }
    if (writer) {
      logs.scalars(scalars, globalStep, epoch, "train");
    }
    // All-reduce time minus waiting is what the transfers cost; waiting is what stragglers cost.
    Console.info("  step %d per rank: step s%s | all-reduce s%s, of it waiting for peers s%s"
        + " (transfers %.1f%% of step time)", globalStep, stepTimes, comm, waits, 100 * share);
  }
}
