package io.textspark.metrics;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Where a run's metrics go: rank 0 of a training run hands every logged scalar to its sinks
 * (TensorBoard events and {@code metrics.jsonl} by default; experiment trackers such as MLflow plug
 * in here too). A sink that fails should say so and keep the run going where it can.
 */
public interface MetricsSink extends AutoCloseable {
  /**
   * Records {@code values} (tag to value) at optimizer step {@code step} of epoch {@code epoch}
   * (0-based); {@code split} is {@code train} or {@code validation}.
   */
  void scalars(Map<String, Double> values, long step, int epoch, String split);

  /** Pushes buffered values out; called after each checkpoint. */
  default void flush() {}

  /**
   * Says the run ended normally, with {@code bestCheckpoint} (a path; empty when none was written)
   * its best checkpoint; called once, before {@link #close()}. A sink closed without it belongs to
   * a run that failed.
   */
  default void finished(String bestCheckpoint) {}

  /** Flushes and releases the sink. */
  @Override
  default void close() {}

  /** Opens a run's sinks where rank 0 runs (the driver or an executor), so it travels with the task. */
  @FunctionalInterface
  interface Factory extends Serializable {
    /** Opens the sinks of the run whose logs folder is {@code logs}. */
    MetricsSink open(Path logs, Configuration conf);
  }

  /** A sink that drops everything, for workers that do not log. */
  static MetricsSink none() {
    return (values, step, epoch, split) -> {};
  }

  /** One sink that hands everything to each of {@code sinks} in turn and closes them all. */
  static MetricsSink all(List<? extends MetricsSink> sinks) {
    List<MetricsSink> copy = List.copyOf(sinks);
    return new MetricsSink() {
      @Override
      public void scalars(Map<String, Double> values, long step, int epoch, String split) {
        for (MetricsSink s : copy) {
          s.scalars(values, step, epoch, split);
        }
      }

      @Override
      public void flush() {
        for (MetricsSink s : copy) {
          s.flush();
        }
      }

      @Override
      public void finished(String bestCheckpoint) {
        for (MetricsSink s : copy) {
          s.finished(bestCheckpoint);
        }
      }

      @Override
      public void close() {
        List<RuntimeException> failures = new ArrayList<>();
        for (MetricsSink s : copy) {
          try {
            s.close();
          } catch (RuntimeException e) {
            failures.add(e);
          }
        }
        if (!failures.isEmpty()) {
          RuntimeException first = failures.get(0);
          failures.subList(1, failures.size()).forEach(first::addSuppressed);
          throw first;
        }
      }
    };
  }
}
