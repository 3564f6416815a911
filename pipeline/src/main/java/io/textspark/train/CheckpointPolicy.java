package io.textspark.train;

import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.config.TrainConfig;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Which checkpoints a run keeps and ranks, and when it stops early: the one place that reads
 * {@code train.checkpoint.*} and {@code train.early_stopping.*}. The tuner asks it for the metric
 * it monitors, so trials are compared on what training itself optimises.
 */
public final class CheckpointPolicy {
  private final TrainConfig.Checkpointing checkpointing;
  private final TrainConfig.EarlyStopping earlyStopping;

  /** The policy of {@code cfg}. */
  public CheckpointPolicy(TrainConfig cfg) {
    this.checkpointing = cfg.checkpoint();
    this.earlyStopping = cfg.earlyStopping();
  }

  /** The metric that ranks checkpoints, such as {@code val/mcc}. */
  public String monitor() {
    return checkpointing.monitor();
  }

  /** Whether a larger {@link #monitor()} is better. */
  public boolean maximize() {
    return checkpointing.mode().equals("max");
  }

  /** The checkpoint {@code reference} names: a path, {@code last} or {@code best}. */
  public Checkpoint resolve(CheckpointStore store, String reference) {
    return store.resolve(reference, checkpointing.monitor(), checkpointing.mode());
  }

  /** Deletes the checkpoints the policy does not keep (all but the top k, and the newest if kept). */
  public void retain(CheckpointStore store) {
    store.retain(checkpointing.saveTopK(), checkpointing.monitor(), checkpointing.mode(), checkpointing.saveLast());
  }

  /** The best checkpoint by the monitored metric, else the newest one. */
  public Optional<Checkpoint> best(CheckpointStore store) {
    Optional<Checkpoint> best = store.best(checkpointing.monitor(), checkpointing.mode());
    return best.isPresent() ? best : store.last();
  }

  /**
   * Updates the early-stopping counters in {@code state} with a validation's {@code metrics};
   * true when the run should stop. {@code why} receives the reason when it does.
   */
  boolean shouldStop(TrainState state, Map<String, Double> metrics, Consumer<String> why) {
    TrainConfig.EarlyStopping es = earlyStopping;
    if (es.patience() <= 0) {
      return false;
    }
    Double value = metrics.get(es.monitor());
    if (value == null || value.isNaN()) {
      return false;
    }
    boolean better = state.bestMonitored == null
        || (es.mode().equals("max") ? value > state.bestMonitored + es.minDelta()
            : value < state.bestMonitored - es.minDelta());
    if (better) {
      state.bestMonitored = value;
      state.badValidations = 0;
      return false;
    }
    state.badValidations++;
    if (state.badValidations < es.patience()) {
      return false;
    }
    why.accept(String.format(Locale.ROOT, "%s has not improved by more than %s for %d validations (best %.4f)",
        es.monitor(), es.minDelta(), state.badValidations, state.bestMonitored));
    return true;
  }
}
