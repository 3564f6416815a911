package io.textspark.tracking;

import io.textspark.config.TrackingConfig;
import io.textspark.metrics.MetricsSink;
import io.textspark.metrics.RunLogs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The sinks of a training run: its logs folder ({@link RunLogs}) and, when {@code tracking.mlflow.uri}
 * is set, an MLflow run ({@link MlflowSink}). Serializable, so it travels with rank 0's task.
 */
public final class TrackingSinks implements MetricsSink.Factory {
  private static final long serialVersionUID = 1L;

  private final TrackingConfig cfg;
  private final RunDescription run;
  private final HashMap<String, String> environment;

  private TrackingSinks(TrackingConfig cfg, RunDescription run, Map<String, String> environment) {
    this.cfg = cfg;
    this.run = run;
    this.environment = environment == null ? null : new HashMap<>(environment);
  }

  /** The run's sinks, with MLflow credentials from the environment of the JVM that opens them. */
  public static MetricsSink.Factory of(TrackingConfig cfg, RunDescription run) {
    return new TrackingSinks(cfg, run, null);
  }

  /** {@link #of} with {@code environment} in place of the opening JVM's (tests, embedding applications). */
  public static MetricsSink.Factory of(TrackingConfig cfg, RunDescription run, Map<String, String> environment) {
    return new TrackingSinks(cfg, run, environment);
  }

  @Override
  public MetricsSink open(Path logs, Configuration conf) {
    MetricsSink files = RunLogs.open(logs, conf);
    Map<String, String> env = environment == null ? System.getenv() : environment;
    return MlflowTracking.connect(cfg, env)
        .<MetricsSink>map(t -> MetricsSink.all(List.of(files, new MlflowSink(t, cfg, run, logs, conf))))
        .orElse(files);
  }

  @Override
  public String toString() {
    return "TrackingSinks[" + (cfg.enabled() ? cfg.uri() : "off") + "]"; // never the environment
  }
}
