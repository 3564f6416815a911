package io.textspark.checkpoint;

import io.textspark.TextSparkException;
import io.textspark.config.TrainConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Which model {@code predict} and {@code score} use: the one given, or else the best checkpoint of
 * the training run in {@code train.output_dir}, so that a run's commands chain without naming it.
 */
public final class DefaultModel {
  private DefaultModel() {}

  /**
   * {@code model} when not blank, else the best checkpoint (by {@code train.checkpoint.monitor} and
   * {@code mode}) under {@code train.output_dir}/checkpoints; fails naming both ways to fix it.
   */
  public static String reference(String model, TrainConfig train, Configuration conf) {
    String ref = model.trim();
    if (!ref.isEmpty()) {
      return ref;
    }
    Path checkpoints = new Path(train.outputDir(), "checkpoints");
    try {
      return new CheckpointStore(checkpoints, conf)
          .resolve("best", train.checkpoint().monitor(), train.checkpoint().mode())
          .path().toString();
    } catch (TextSparkException e) {
      throw new TextSparkException("no model given and no checkpoint found in " + checkpoints + " ("
          + e.getMessage() + "). Pass --model with a checkpoint folder (score.model), or set train.output_dir to"
          + " a training run.", e);
    }
  }
}
