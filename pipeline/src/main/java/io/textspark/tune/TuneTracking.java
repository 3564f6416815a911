package io.textspark.tune;

import io.textspark.config.TextSparkConfig;
import java.util.List;

/**
 * The tuner's one seam for experiment tracking. When the configuration names a tracking server
 * ({@code tracking.mlflow.uri}, added with the MLflow tracking), {@link #start} is where the tune's
 * parent run is created and {@link #trialOverrides} where each trial gets the overrides that make
 * its training run a child of it ({@code tracking.mlflow.parent_run_id=<id>},
 * {@code tracking.mlflow.run_name=trial-<n>}). Until then it adds nothing.
 */
final class TuneTracking {
  private TuneTracking() {}

  /** Starts tracking the tune {@code config} describes (plug-in point: create the parent run here). */
  static TuneTracking start(TextSparkConfig config) {
    return new TuneTracking();
  }

  /** The extra {@code key=value} overrides of trial {@code number} (plug-in point: parent run id and run name). */
  List<String> trialOverrides(int number) {
    return List.of();
  }
}
