package io.textspark.config;

import java.io.Serializable;
import java.time.Duration;

/**
 * Settings of the {@code train} command; every default is in {@code conf/textspark.conf}.
 *
 * @param workers data-parallel workers; default 1
 * @param outputDir run folder for {@code checkpoints/} and {@code logs/}; default {@code runs/cola}
 * @param epochs passes over the training set; default 3
 * @param maxSteps optimizer-step limit, -1 for none; default -1
 * @param batchSize examples per micro-batch per worker; default 32
 * @param accumulate micro-batches per optimizer step; default 1
 * @param lr peak learning rate; default 5e-5
 * @param weightDecay AdamW decoupled weight decay; default 0.01
 * @param warmupRatio share of steps with linear warm-up; default 0.1
 * @param maxGradNorm global-norm clipping threshold, 0 disables; default 1.0
 * @param seed seed of head initialisation, data order and dropout; default 42
 * @param dropout dropout override, -1 keeps the model's; default -1
 * @param bucketBatches micro-batches per length-sorted window; default 50
 * @param valEverySteps extra validation every N steps, 0 for epochs only; default 0
 * @param valBatchSize validation batch size; default 64
 * @param logEverySteps progress line interval; default 25
 * @param threads PyTorch threads, 0 for automatic; default 0
 * @param fastDevRun one train and one validation batch, nothing written; default false
 * @param resumeFrom {@code last}, {@code best}, a checkpoint path, or empty; default empty
 * @param checkpoint checkpoint retention
 * @param earlyStopping early stopping
 * @param collectiveTimeout longest wait of a worker in one all-reduce or broadcast; default 5m
 * @param maxRestarts times a failed multi-worker run restarts from its last checkpoint; default 3
 * @param minWorkers fewest workers a restart continues with when task slots are missing, from 1 to
 *     {@code workers}; default {@code workers} (a restart waits for all of them)
 */
public record TrainConfig(
    int workers,
    String outputDir,
    int epochs,
    long maxSteps,
    int batchSize,
    int accumulate,
    double lr,
    double weightDecay,
    double warmupRatio,
    double maxGradNorm,
    long seed,
    double dropout,
    int bucketBatches,
    long valEverySteps,
    int valBatchSize,
    long logEverySteps,
    int threads,
    boolean fastDevRun,
    String resumeFrom,
    Checkpointing checkpoint,
    EarlyStopping earlyStopping,
    Duration collectiveTimeout,
    int maxRestarts,
    int minWorkers) implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * Which checkpoints a run keeps.
   *
   * @param monitor metric ranking checkpoints; default {@code val/mcc}
   * @param mode {@code max} or {@code min}; default {@code max}
   * @param saveTopK best checkpoints kept, -1 all; default 1
   * @param saveLast keep the newest checkpoint too; default true
   * @param everySteps extra checkpoint every N steps, 0 for none; default 0
   */
  public record Checkpointing(String monitor, String mode, int saveTopK, boolean saveLast, long everySteps)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * When a run stops early.
   *
   * @param patience validations without improvement before stopping, 0 disables; default 0
   * @param monitor metric watched; default {@code val/mcc}
   * @param mode {@code max} or {@code min}; default {@code max}
   * @param minDelta smallest improvement; default 0
   */
  public record EarlyStopping(int patience, String monitor, String mode, double minDelta) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** The same settings resuming from {@code reference} (a checkpoint path, {@code last}, {@code best}, or empty). */
  public TrainConfig withResumeFrom(String reference) {
    return new TrainConfig(workers, outputDir, epochs, maxSteps, batchSize, accumulate, lr, weightDecay, warmupRatio,
        maxGradNorm, seed, dropout, bucketBatches, valEverySteps, valBatchSize, logEverySteps, threads, fastDevRun,
        reference, checkpoint, earlyStopping, collectiveTimeout, maxRestarts, minWorkers);
  }

  /** Reads and validates the {@code train} section. */
  public static TrainConfig from(Settings s, com.typesafe.config.Config raw) {
    Settings ck = new Settings(raw, "train.checkpoint");
    Settings es = new Settings(raw, "train.early_stopping");
    int workers = s.intIn("workers", 1, 4096);
    return new TrainConfig(
        workers,
        s.nonEmpty("output_dir"),
        s.intIn("epochs", 1, 10_000),
        s.longIn("max_steps", -1, Long.MAX_VALUE),
        s.intIn("batch_size", 1, 65_536),
        s.intIn("accumulate", 1, 65_536),
        positive(s.doubleIn("lr", 0, 1), "train.lr"),
        s.doubleIn("weight_decay", 0, 1),
        s.doubleIn("warmup_ratio", 0, 1),
        s.doubleIn("max_grad_norm", 0, 1e6),
        s.longIn("seed", 0, Long.MAX_VALUE),
        dropout(s.doubleIn("dropout", -1, 0.99)),
        s.intIn("bucket_batches", 1, 100_000),
        s.longIn("val_every_steps", 0, Long.MAX_VALUE),
        s.intIn("val_batch_size", 1, 65_536),
        s.longIn("log_every_steps", 1, Long.MAX_VALUE),
        s.intIn("threads", 0, 1024),
        s.bool("fast_dev_run"),
        s.string("resume_from").trim(),
        new Checkpointing(metric(ck, "monitor"), ck.oneOf("mode", "max", "min"), ck.intIn("save_top_k", -1, 1_000_000),
            ck.bool("save_last"), ck.longIn("every_steps", 0, Long.MAX_VALUE)),
        new EarlyStopping(es.intIn("patience", 0, 1_000_000), metric(es, "monitor"), es.oneOf("mode", "max", "min"),
            es.doubleIn("min_delta", 0, 1e9)),
        s.duration("collective_timeout"),
        s.intIn("max_restarts", 0, 1000),
        s.intIn("min_workers", 1, workers));
  }

  private static double positive(double v, String key) {
    if (v <= 0) {
      throw new ConfigError(key, v, "it must be greater than 0 (typical: 1e-5 to 1e-4)");
    }
    return v;
  }

  private static double dropout(double v) {
    if (v < 0 && v != -1) {
      throw new ConfigError("train.dropout", v, "use a probability from 0 to 0.99, or -1 to keep the model's");
    }
    return v;
  }

  private static String metric(Settings s, String name) {
    String m = s.nonEmpty(name);
    if (!m.matches("(val|in|out)/(loss|accuracy|mcc|f1|precision|recall)")) {
      throw new ConfigError(s.key(name), m,
          "allowed metrics are val/, in/ or out/ followed by loss, accuracy, mcc, f1, precision or recall");
    }
    return m;
  }
}
