package io.textspark.train;

import io.textspark.TextSparkException;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * What resuming a checkpoint continues with: whether anything is left to train under this run's
 * settings (the horizon comes from the settings now, not from how the earlier run ended), and
 * whether the checkpoint's data order can be reproduced (same global batch mid-epoch, any number
 * of workers).
 */
public final class Resumption {
  private Resumption() {}

  /**
   * When {@code cfg} resumes a checkpoint that has nothing left to train (it is at
   * {@code train.max_steps}, has done {@code train.epochs}, or was stopped early and the patience is
   * still used up), prints one line saying so and why and returns the run's summary, having written
   * nothing; otherwise empty. The train command calls it before it starts any worker.
   */
  public static Optional<Trainer.Summary> alreadyFinished(TrainConfig cfg, Path outputDir, Configuration conf) {
    if (cfg.resumeFrom().isEmpty()) {
      return Optional.empty();
    }
    CheckpointStore store = new CheckpointStore(new Path(outputDir, "checkpoints"), conf);
    CheckpointPolicy policy = new CheckpointPolicy(cfg);
    Checkpoint checkpoint = policy.resolve(store, cfg.resumeFrom());
    TrainState state = TrainState.read(checkpoint);
    String done = nothingLeft(cfg, checkpoint, state);
    if (done == null) {
      return Optional.empty();
    }
    Console.info(done);
    return Optional.of(finishedSummary(policy, store, state));
  }

  /**
   * Why resuming {@code checkpoint} with {@code cfg} trains nothing, as one console line, or null
   * when there is work left. What stopped the earlier run does not matter, only the horizon the
   * settings give now: a run stopped by {@code train.max_steps} continues when the limit is raised,
   * one that finished its epochs when {@code train.epochs} is, and an early-stopped one when
   * {@code train.early_stopping.patience} is raised above the validations it has waited, or set to 0.
   */
  static String nothingLeft(TrainConfig cfg, Checkpoint checkpoint, TrainState state) {
    TrainConfig.EarlyStopping es = cfg.earlyStopping();
    String why;
    if (cfg.maxSteps() > 0 && state.globalStep >= cfg.maxSteps()) {
      why = "is at step " + state.globalStep + " and train.max_steps = " + cfg.maxSteps()
          + "; raise train.max_steps to train further";
    } else if (state.epoch >= cfg.epochs()) {
      why = "has completed " + state.epoch + " epoch(s) and train.epochs = " + cfg.epochs()
          + "; raise train.epochs to train further";
    } else if (es.patience() > 0 && state.badValidations >= es.patience()) {
      why = "was stopped early: " + es.monitor() + " has not improved for " + state.badValidations + " validation(s)"
          + " and train.early_stopping.patience = " + es.patience() + "; raise the patience, or set it to 0, to train"
          + " further";
    } else {
      return null;
    }
    return "train: nothing to do: checkpoint " + checkpoint.path() + " " + why + ".";
  }

  /**
   * Refuses to resume a checkpoint written in the middle of an epoch whose data order this run
   * would not reproduce: that of another global batch size. The number of workers does not matter.
   */
  static void checkDataOrder(TrainConfig cfg, Checkpoint checkpoint, TrainState state) {
    if (state.position == 0) {
      return; // at an epoch boundary the next epoch is planned afresh, with this run's global batch
    }
    if (state.planVersion != StepPlan.VERSION) {
      throw new TextSparkException("checkpoint " + checkpoint.path() + " stopped in the middle of an epoch whose"
          + " data order (plan version " + state.planVersion + ": one shard per worker) this version of textspark no"
          + " longer reproduces. Resume from a checkpoint written at the end of an epoch.");
    }
    int global = Trainer.globalBatch(cfg);
    if (state.globalBatch != global) {
      throw new TextSparkException("checkpoint " + checkpoint.path() + " stopped in the middle of an epoch cut into"
          + " global batches of " + state.globalBatch + " rows (train.workers x train.accumulate x train.batch_size"
          + (state.batchKeys.isEmpty() ? "" : ": " + state.batchKeys) + "), but this run's global batch is " + global
          + " (" + cfg.workers() + " x " + cfg.accumulate() + " x " + cfg.batchSize() + "). Set train.workers,"
          + " train.accumulate and train.batch_size so that their product is " + state.globalBatch + ", or resume"
          + " from a checkpoint written at the end of an epoch.");
    }
  }

  /** The summary of a run resumed with nothing left to do: the checkpoint's, as the earlier run ended. */
  static Trainer.Summary finishedSummary(CheckpointPolicy policy, CheckpointStore store, TrainState state) {
    Checkpoint best = policy.best(store).orElse(null);
    return new Trainer.Summary(best == null ? "" : best.path().toString(), best == null ? Map.of() : best.metrics(),
        state.lastMetrics == null ? Map.of() : state.lastMetrics, state.globalStep, state.epoch, state.stopped, 0, 0);
  }
}
