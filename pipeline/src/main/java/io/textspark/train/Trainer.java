package io.textspark.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import io.textspark.batch.PaddedBatch;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointFile;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.CheckpointMetadata;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.checkpoint.Checkpoints;
import io.textspark.collective.Collective;
import io.textspark.config.TrainConfig;
import io.textspark.evaluate.Evaluator;
import io.textspark.fs.HadoopPaths;
import io.textspark.metrics.MetricsByDomain;
import io.textspark.metrics.MetricsFormat;
import io.textspark.metrics.MetricsLog;
import io.textspark.metrics.TensorBoardWriter;
import io.textspark.metrics.TimeLeft;
import io.textspark.model.bert.BertClassifier;
import io.textspark.model.bert.BertConfig;
import io.textspark.model.Safetensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Fine-tunes a {@link BertClassifier} the way PyTorch Lightning's {@code Trainer} would: AdamW with
 * linear warm-up and decay, gradient clipping, gradient accumulation, validation every epoch,
 * checkpoints ranked by a monitored metric, early stopping, and exact resume.
 *
 * <p>Everything random is a function of the seed and the position in training: the head's
 * initialisation, each epoch's data order (from seed and epoch), and dropout (the engine's RNG is
 * reseeded before every micro-batch from seed, step and micro-batch). A run resumed from a
 * checkpoint therefore continues exactly as if it had not stopped.
 *
 * <p>Each global batch of {@code train.workers × train.accumulate × train.batch_size} rows is planned
 * once from the whole training set ({@link StepPlan}), which every worker holds; each worker trains
 * on its part of it and sums gradients with the others through the {@link Collective} once per
 * optimizer step. Losses are divided by the number of rows in the whole step across all workers,
 * so N workers with k micro-batches of b rows compute the same update as one worker with one batch
 * of the same N·k·b rows, and a run with fewer workers than {@code train.workers} (an elastic
 * restart) still trains the same model. Checkpoints record the global batch size rather than the
 * number of workers, so any of them resumes with any number of workers. Replicas start from rank
 * 0's weights and stay identical because every worker applies the same summed gradients. Rank 0
 * alone writes checkpoints and logs, including every rank's step and all-reduce times so that
 * stragglers show.
 */
public final class Trainer {
  /** Observes a run; used by the console, by tests, and by the distributed driver. */
  public interface Listener {
    /** Called after every optimizer step. */
    default void afterStep(long globalStep, int epoch, int position) {}

    /** Called after a checkpoint is committed. */
    default void afterCheckpoint(Checkpoint checkpoint) {}
  }

  /**
   * What a finished run reports.
   *
   * @param bestCheckpoint path of the best checkpoint (empty when nothing was written)
   * @param bestMetrics validation metrics of the best checkpoint
   * @param lastMetrics validation metrics of the final validation
   * @param globalStep optimizer steps taken in all
   * @param epochsCompleted whole epochs completed
   * @param stoppedEarly whether early stopping ended the run
   * @param seconds wall time of this invocation
   * @param samplesPerSecond training throughput of this invocation (this worker)
   */
  public record Summary(
      String bestCheckpoint,
      Map<String, Double> bestMetrics,
      Map<String, Double> lastMetrics,
      long globalStep,
      int epochsCompleted,
      boolean stoppedEarly,
      double seconds,
      double samplesPerSecond) {

    /** The summary as JSON, as written to {@code summary.json}. */
    public JsonObject toJson() {
      JsonObject o = new JsonObject();
      o.addProperty("best_checkpoint", bestCheckpoint);
      o.add("best_metrics", MetricsFormat.json(bestMetrics));
      o.add("last_metrics", MetricsFormat.json(lastMetrics));
      o.addProperty("global_step", globalStep);
      o.addProperty("epochs_completed", epochsCompleted);
      o.addProperty("stopped_early", stoppedEarly);
      o.addProperty("seconds", seconds);
      o.addProperty("samples_per_second", samplesPerSecond);
      return o;
    }

    /** Reads a summary back from {@link #toJson()}, as the driver does with rank 0's. */
    public static Summary fromJson(JsonObject o) {
      return new Summary(o.get("best_checkpoint").getAsString(), metricsOf(o.getAsJsonObject("best_metrics")),
          metricsOf(o.getAsJsonObject("last_metrics")), o.get("global_step").getAsLong(),
          o.get("epochs_completed").getAsInt(), o.get("stopped_early").getAsBoolean(), o.get("seconds").getAsDouble(),
          o.get("samples_per_second").getAsDouble());
    }

    private static Map<String, Double> metricsOf(JsonObject o) {
      Map<String, Double> m = new LinkedHashMap<>();
      for (Map.Entry<String, JsonElement> e : o.entrySet()) {
        m.put(e.getKey(), e.getValue().getAsDouble());
      }
      return m;
    }
  }

  private final TrainConfig cfg;
  private final TrainInputs in;
  private final Collective collective;
  private final List<Listener> listeners;
  private final boolean writer;
  private final BertConfig modelConfig;
  private final Device device;
  private final StepPlan plan;
  // The flat buffer gradients are summed in, reused by every step.
  private float[] flat;
  // Seconds this worker spent inside collective calls since it last reported its timings.
  private double collectiveSeconds;
  // The part of collectiveSeconds spent waiting for other workers to reach the call.
  private double waitSeconds;

  private Trainer(TrainConfig cfg, TrainInputs in, Collective collective, List<Listener> listeners, Device device) {
    this.cfg = cfg;
    this.in = in;
    this.collective = collective;
    this.listeners = listeners;
    this.writer = collective.rank() == 0 && !cfg.fastDevRun();
    this.modelConfig = withDropout(in.modelConfig(), cfg.dropout());
    this.device = device;
    if (collective.size() > cfg.workers()) {
      throw new IllegalArgumentException("train.workers = " + cfg.workers() + " but " + collective.size()
          + " workers joined the collective; a run has at most train.workers workers");
    }
    this.plan = new StepPlan(in.train(), globalBatch(cfg), cfg.batchSize(), collective.rank(), collective.size(),
        cfg.seed(), cfg.bucketBatches());
  }

  /** Trains with {@code cfg} from {@code in}; returns the run's summary. */
  public static Summary fit(TrainConfig cfg, TrainInputs in, Collective collective, List<Listener> listeners) {
    return fit(cfg, in, collective, listeners, null);
  }

  /** Trains on {@code device} (null: the engine's default device); returns the run's summary. */
  public static Summary fit(
      TrainConfig cfg, TrainInputs in, Collective collective, List<Listener> listeners, Device device) {
    return new Trainer(cfg, in, collective, listeners, device).run();
  }

  /** Optimizer steps per epoch for {@code n} training rows: a function of the global batch alone. */
  public static long stepsPerEpoch(TrainConfig cfg, int n) {
    return StepPlan.stepsPerEpoch(n, globalBatch(cfg), cfg.bucketBatches());
  }

  /** Rows per optimizer step: workers × accumulate × batch size. */
  public static int globalBatch(TrainConfig cfg) {
    return cfg.workers() * cfg.accumulate() * cfg.batchSize();
  }

  /** Optimizer steps of the whole run, as the learning-rate schedule sees it. */
  public static long totalSteps(TrainConfig cfg, int n) {
    long total = (long) cfg.epochs() * stepsPerEpoch(cfg, n);
    return cfg.maxSteps() > 0 ? Math.min(total, cfg.maxSteps()) : total;
  }

  /**
   * When {@code cfg} resumes a checkpoint that has nothing left to train (it is at
   * {@code train.max_steps}, has done {@code train.epochs}, or was stopped early and the patience is
   * still used up), prints one line saying so and why and returns the run's summary, having written
   * nothing; otherwise empty. The train command calls it before it starts any worker.
   */
  public static Optional<Summary> alreadyFinished(TrainConfig cfg, Path outputDir, Configuration conf) {
    if (cfg.resumeFrom().isEmpty()) {
      return Optional.empty();
    }
    CheckpointStore store = new CheckpointStore(new Path(outputDir, "checkpoints"), conf);
    Checkpoint checkpoint = store.resolve(cfg.resumeFrom(), cfg.checkpoint().monitor(), cfg.checkpoint().mode());
    State state = State.read(checkpoint);
    String done = nothingLeft(cfg, checkpoint, state);
    if (done == null) {
      return Optional.empty();
    }
    System.out.println(done);
    return Optional.of(finishedSummary(cfg, store, state));
  }

  /**
   * Why resuming {@code checkpoint} with {@code cfg} trains nothing, as one console line, or null
   * when there is work left. What stopped the earlier run does not matter, only the horizon the
   * settings give now: a run stopped by {@code train.max_steps} continues when the limit is raised,
   * one that finished its epochs when {@code train.epochs} is, and an early-stopped one when
   * {@code train.early_stopping.patience} is raised above the validations it has waited, or set to 0.
   */
  private static String nothingLeft(TrainConfig cfg, Checkpoint checkpoint, State state) {
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
  private static void checkDataOrder(TrainConfig cfg, Checkpoint checkpoint, State state) {
    if (state.position == 0) {
      return; // at an epoch boundary the next epoch is planned afresh, with this run's global batch
    }
    if (state.planVersion != StepPlan.VERSION) {
      throw new TextSparkException("checkpoint " + checkpoint.path() + " stopped in the middle of an epoch whose"
          + " data order (plan version " + state.planVersion + ": one shard per worker) this version of textspark no"
          + " longer reproduces. Resume from a checkpoint written at the end of an epoch.");
    }
    int global = globalBatch(cfg);
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
  private static Summary finishedSummary(TrainConfig cfg, CheckpointStore store, State state) {
    Checkpoint best = store.best(cfg.checkpoint().monitor(), cfg.checkpoint().mode())
        .orElse(store.last().orElse(null));
    return new Summary(best == null ? "" : best.path().toString(), best == null ? Map.of() : best.metrics(),
        state.lastMetrics == null ? Map.of() : state.lastMetrics, state.globalStep, state.epoch, state.stopped, 0, 0);
  }

  private Summary run() {
    in.train().checkLabels(modelConfig.numLabels(), modelConfig.labels());
    in.validation().checkLabels(modelConfig.numLabels(), modelConfig.labels());
    CheckpointStore store = new CheckpointStore(new Path(in.outputDir(), "checkpoints"), in.hadoopConf());
    Checkpoint resumeFrom = cfg.resumeFrom().isEmpty()
        ? null : store.resolve(cfg.resumeFrom(), cfg.checkpoint().monitor(), cfg.checkpoint().mode());
    State state = resumeFrom == null ? State.fresh() : State.read(resumeFrom);
    if (resumeFrom != null) {
      checkDataOrder(cfg, resumeFrom, state);
      String done = nothingLeft(cfg, resumeFrom, state);
      if (done != null) {
        // Nothing is written, not even logs: the run folder stays exactly as the last run left it.
        if (collective.rank() == 0) {
          System.out.println(done);
        }
        return finishedSummary(cfg, store, state);
      }
    }
    if (writer) {
      store.cleanupStaging();
    }
    long started = System.nanoTime();
    try (NDManager root = device == null ? NDManager.newBaseManager() : NDManager.newBaseManager(device);
        RunLogs logs = writer ? RunLogs.open(new Path(in.outputDir(), "logs"), in.hadoopConf()) : RunLogs.none()) {
      Map<String, Safetensors.Tensor> weights = resumeFrom == null ? in.weights() : readTensors(resumeFrom, CheckpointLayout.WEIGHTS);
      BertClassifier model = BertClassifier.load(root, modelConfig, weights, cfg.seed());
      AdamW optimizer = new AdamW(root, cfg.weightDecay());
      if (resumeFrom != null) {
        loadOptimizer(optimizer, model, resumeFrom, state.globalStep);
        if (collective.rank() == 0) {
          System.out.println("train: resumed from " + resumeFrom.path() + " (epoch " + (state.epoch + 1) + ", step "
              + state.globalStep + ", batch " + state.position + " of the epoch)");
        }
      } else if (collective.size() > 1) {
        broadcastWeights(model);
      }
      model.setRequiresGradient(true);
      return loop(root, model, optimizer, store, logs, state, started);
    }
  }

  private Summary loop(
      NDManager root, BertClassifier model, AdamW optimizer, CheckpointStore store, RunLogs logs, State state,
      long started) {
    long stepsPerEpoch = plan.stepsPerEpoch();
    long planned = (long) cfg.epochs() * stepsPerEpoch;
    long totalSteps = cfg.maxSteps() > 0 ? Math.min(planned, cfg.maxSteps()) : planned;
    LrSchedule schedule = new LrSchedule(cfg.lr(), (long) Math.ceil(cfg.warmupRatio() * totalSteps), totalSteps);
    Examples validation = cfg.fastDevRun() ? firstRows(in.validation(), cfg.valBatchSize()) : in.validation();
    Map<String, Double> lastMetrics = state.lastMetrics;
    // run() returned already when a resumed run has nothing left to do, whatever stopped it before.
    boolean stop = false;
    long trainedRows = 0;
    double trainSeconds = 0;
    if (collective.rank() == 0) {
      System.out.printf(Locale.ROOT, "train: %d rows, global batch %d (%d workers x %d micro-batches of at most %d"
          + " rows), %d steps per epoch, %d epochs (%d steps)%s%n", in.train().size(), globalBatch(cfg),
          collective.size(), plan.microBatches(), cfg.batchSize(), stepsPerEpoch, cfg.epochs(), totalSteps,
          cfg.fastDevRun() ? "; fast_dev_run: 1 batch each" : "");
    }
    for (int epoch = state.epoch; epoch < cfg.epochs() && !stop; epoch++) {
      List<List<int[]>> steps = plan.epoch(epoch);
      int position = epoch == state.epoch ? state.position : 0;
      long windowStart = System.nanoTime();
      long windowRows = 0;
      double windowLoss = 0;
      long windowSteps = 0;
      double timedSeconds = 0;
      long timedSteps = 0;
      collectiveSeconds = 0;
      waitSeconds = 0;
      while (position < steps.size() && !stop) {
        List<int[]> micro = steps.get(position);
        long stepStart = System.nanoTime();
        StepResult step = step(root, model, optimizer, micro, schedule.at(state.globalStep), state.globalStep);
        trainSeconds += (System.nanoTime() - stepStart) / 1e9;
        timedSeconds += step.seconds;
        timedSteps++;
        trainedRows += step.localRows;
        windowRows += step.localRows;
        windowLoss += step.meanLoss;
        windowSteps++;
        state.globalStep++;
        position++;
        for (Listener l : listeners) {
          l.afterStep(state.globalStep, epoch, position);
        }
        if (writer) {
          Map<String, Double> scalars = new LinkedHashMap<>();
          scalars.put("train/loss", step.meanLoss);
          scalars.put("train/lr", step.lr);
          scalars.put("train/grad_norm", step.gradNorm);
          scalars.put("train/samples_per_sec", step.localRows * collective.size() / Math.max(1e-9, step.seconds));
          logs.scalars(scalars, state.globalStep, epoch, "train");
        }
        boolean last = position >= steps.size();
        boolean hitMax = cfg.maxSteps() > 0 && state.globalStep >= cfg.maxSteps();
        if (cfg.fastDevRun()) {
          stop = true;
        }
        if (state.globalStep % cfg.logEverySteps() == 0 || last || stop || hitMax) {
          // Every worker reaches this point at the same step, so the timing exchange is itself collective.
          reportTimings(timedSeconds / timedSteps, collectiveSeconds / timedSteps, waitSeconds / timedSteps,
              state.globalStep, epoch, logs);
          collectiveSeconds = 0;
          waitSeconds = 0;
          timedSeconds = 0;
          timedSteps = 0;
        }
        if (collective.rank() == 0 && (state.globalStep % cfg.logEverySteps() == 0 || last || stop || hitMax)) {
          double secs = (System.nanoTime() - windowStart) / 1e9;
          long doneInRun = state.globalStep;
          long remaining = Math.max(0, totalSteps - doneInRun);
          double perStep = windowSteps == 0 ? 0 : secs / windowSteps;
          System.out.printf(Locale.ROOT, "epoch %d/%d  step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %.1f samples/s"
              + "  ETA %s%n", epoch + 1, cfg.epochs(), doneInRun, totalSteps, windowLoss / Math.max(1, windowSteps),
              step.lr, step.gradNorm, windowRows * collective.size() / Math.max(1e-9, secs),
              TimeLeft.format(perStep * remaining));
          windowStart = System.nanoTime();
          windowRows = 0;
          windowLoss = 0;
          windowSteps = 0;
        }
        if (hitMax) {
          stop = true;
        }
        boolean midEpoch = !last && !stop;
        if (midEpoch && cfg.valEverySteps() > 0 && state.globalStep % cfg.valEverySteps() == 0) {
          lastMetrics = validate(root, model, validation, state, epoch, logs);
          state.epoch = epoch;
          state.position = position;
          stop = earlyStop(state, lastMetrics);
          checkpoint(store, model, optimizer, state, lastMetrics, logs);
        } else if (midEpoch && cfg.checkpoint().everySteps() > 0
            && state.globalStep % cfg.checkpoint().everySteps() == 0) {
          state.epoch = epoch;
          state.position = position;
          checkpoint(store, model, optimizer, state, null, logs);
        }
      }
      if (position >= steps.size() || stop) {
        lastMetrics = validate(root, model, validation, state, epoch, logs);
        boolean finished = position >= steps.size();
        state.epoch = finished ? epoch + 1 : epoch;
        state.position = finished ? 0 : position;
        if (earlyStop(state, lastMetrics)) {
          stop = true;
        }
        state.stopped = stop && state.epoch < cfg.epochs();
        checkpoint(store, model, optimizer, state, lastMetrics, logs);
        if (collective.rank() == 0) {
          System.out.printf(Locale.ROOT, "epoch %d/%d done: %s  (RSS %s, heap %s)%n", epoch + 1, cfg.epochs(),
              MetricsFormat.line(lastMetrics), MemoryStats.rss(), MemoryStats.heapUsed());
        }
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    Summary summary = summarize(store, state, lastMetrics, seconds, trainedRows / Math.max(1e-9, trainSeconds));
    if (writer) {
      try {
        HadoopPaths.writeAtomically(new Path(in.outputDir(), "summary.json"),
            summary.toJson().toString().getBytes(StandardCharsets.UTF_8), in.hadoopConf());
      } catch (IOException e) {
        throw new TextSparkException("cannot write " + in.outputDir() + "/summary.json: " + e.getMessage(), e);
      }
    }
    return summary;
  }

  /** One optimizer step over {@code micro} micro-batches. */
  private StepResult step(
      NDManager root, BertClassifier model, AdamW optimizer, List<int[]> micro, double lr, long globalStep) {
    long stepStart = System.nanoTime();
    Examples train = in.train();
    long localRows = 0;
    for (int[] batch : micro) {
      localRows += batch.length;
    }
    double[] rows = {localRows};
    timed(() -> collective.allReduceSum(rows));
    double ceSum = 0;
    int numLabels = modelConfig.numLabels();
    try (NDManager step = root.newSubManager()) {
      for (int j = 0; j < micro.size(); j++) {
        if (micro.get(j).length == 0) {
          continue; // a global batch smaller than workers x accumulate leaves some micro-batches empty
        }
        Engine.getInstance().setRandomSeed(dropoutSeed(cfg.seed(), globalStep, j, collective.rank()));
        PaddedBatch batch = PaddedBatch.of(train, micro.get(j));
        // Not DJL's GradientCollector: it allows one open collector per JVM, and the workers that
        // share an executor (or a local-mode run) train at the same time. Grad mode is per thread.
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try (NDManager mb = step.newSubManager()) {
          NDArray logits = model.logits(batch.inputIdsArray(mb), batch.attentionMaskArray(mb), true);
          NDArray ce = logits.logSoftmax(1).mul(batch.labelsArray(mb).oneHot(numLabels)).sum().neg();
          ceSum += ce.getFloat();
          // Divided by a tensor PyTorch allocates, not by a Number: autograd keeps the divisor for the
          // backward pass, and DJL's div(Number) hands it a Java-owned buffer that is freed as soon
          // as DJL closes the handle, so the backward pass would read garbage (huge or NaN gradients).
          NDArray total = mb.full(new Shape(), (float) rows[0], DataType.FLOAT64);
          NDArray scaled = ce.div(total);
          JniUtils.backward((PtNDArray) scaled, (PtNDArray) mb.ones(scaled.getShape(), scaled.getDataType()), false,
              false);
        } finally {
          JniUtils.setGradMode(gradMode);
        }
      }
      // A worker without rows in this step (a step with fewer rows than micro-batches) ran no backward
      // pass: its gradients are still zero from the previous step, or, before its first backward
      // pass, do not exist yet, and gradients() then hands out zeros. Either way it adds zeros.
      Map<String, NDArray> grads = model.gradients(step);
      if (collective.size() > 1) {
        allReduceGradients(grads);
      }
      double norm = GradientClipping.globalNorm(grads.values());
      if (Double.isFinite(norm)) {
        // Clipping's factor is applied inside the optimizer's pass instead of in a pass of its own.
        optimizer.step(model.parameters(), grads, lr, GradientClipping.coefficient(norm, cfg.maxGradNorm()));
      } else {
        System.err.println("train: warning: gradient norm is " + norm + " at step " + (globalStep + 1)
            + " (first non-finite gradient: " + firstNonFinite(grads) + "); the update was skipped. Lower train.lr"
            + " if this repeats.");
      }
      model.zeroGradients();
      double[] loss = {ceSum};
      timed(() -> collective.allReduceSum(loss));
      return new StepResult(loss[0] / rows[0], lr, norm, localRows, (System.nanoTime() - stepStart) / 1e9);
    }
  }

  private static String firstNonFinite(Map<String, NDArray> grads) {
    for (Map.Entry<String, NDArray> e : grads.entrySet()) {
      try (NDArray nan = e.getValue().isNaN().any();
          NDArray inf = e.getValue().isInfinite().any()) {
        if (nan.getBoolean() || inf.getBoolean()) {
          return e.getKey();
        }
      }
    }
    return "none";
  }

  private record StepResult(double meanLoss, double lr, double gradNorm, long localRows, double seconds) {}

  /** Sums every worker's gradients in place, through one flat buffer (one collective call per step). */
  private void allReduceGradients(Map<String, NDArray> grads) {
    float[] buffer = flatten(grads.values());
    timed(() -> collective.allReduceSum(buffer));
    unflatten(buffer, grads.values(), false);
  }

  /** Makes every replica start from rank 0's weights (its fresh head in particular). */
  private void broadcastWeights(BertClassifier model) {
    float[] buffer = flatten(model.parameters().values());
    timed(() -> collective.broadcast(buffer));
    unflatten(buffer, model.parameters().values(), true);
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
  private void reportTimings(
      double stepSeconds, double allReduceSeconds, double waitSeconds, long globalStep, int epoch, RunLogs logs) {
    int n = collective.size();
    if (n == 1) {
      return;
    }
    double[] times = new double[3 * n];
    times[3 * collective.rank()] = stepSeconds;
    times[3 * collective.rank() + 1] = allReduceSeconds;
    times[3 * collective.rank() + 2] = waitSeconds;
    collective.allReduceSum(times);
    if (collective.rank() != 0) {
      return;
    }
    Map<String, Double> scalars = new LinkedHashMap<>();
    StringBuilder steps = new StringBuilder();
    StringBuilder comm = new StringBuilder();
    StringBuilder waits = new StringBuilder();
    double share = 0;
    for (int r = 0; r < n; r++) {
      scalars.put("time/step_seconds/rank" + r, times[3 * r]);
      scalars.put("time/allreduce_seconds/rank" + r, times[3 * r + 1]);
      scalars.put("time/wait_seconds/rank" + r, times[3 * r + 2]);
      steps.append(String.format(Locale.ROOT, " %.3f", times[3 * r]));
      comm.append(String.format(Locale.ROOT, " %.3f", times[3 * r + 1]));
      waits.append(String.format(Locale.ROOT, " %.3f", times[3 * r + 2]));
      share += (times[3 * r + 1] - times[3 * r + 2]) / Math.max(1e-12, times[3 * r]) / n;
    }
    if (writer) {
      logs.scalars(scalars, globalStep, epoch, "train");
    }
    // All-reduce time minus waiting is what the transfers cost; waiting is what stragglers cost.
    System.out.printf(Locale.ROOT, "  step %d per rank: step s%s | all-reduce s%s, of it waiting for peers s%s"
        + " (transfers %.1f%% of step time)%n", globalStep, steps, comm, waits, 100 * share);
  }

  /** The model's config with its dropout probabilities replaced, unless {@code dropout} is -1. */
  static BertConfig withDropout(BertConfig c, double dropout) {
    if (dropout < 0) {
      return c;
    }
    return new BertConfig(c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(), c.intermediateSize(),
        c.hiddenAct(), dropout, dropout, c.maxPositionEmbeddings(), c.typeVocabSize(), c.vocabSize(),
        c.layerNormEps(), c.padTokenId(), c.initializerRange(), c.labels());
  }

  /** A dropout seed that depends only on where in training a micro-batch is. */
  static int dropoutSeed(long seed, long globalStep, int micro, int rank) {
    long z = seed * 0x9E3779B97F4A7C15L + globalStep * 0xBF58476D1CE4E5B9L + micro * 0x94D049BB133111EBL + rank;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return (int) ((z ^ (z >>> 31)) & 0x7fffffff);
  }

  private Map<String, Double> validate(
      NDManager root, BertClassifier model, Examples validation, State state, int epoch, RunLogs logs) {
    MetricsByDomain m = Evaluator.evaluate(model, validation, cfg.valBatchSize(), root, collective);
    Map<String, Double> metrics = new LinkedHashMap<>();
    m.toMap().forEach((k, v) -> metrics.put(k.contains("/") ? k : "val/" + k, v));
    long[][] cm = m.overall().confusionMatrix();
    JsonObject record = new JsonObject();
    record.addProperty("step", state.globalStep);
    record.addProperty("epoch", epoch);
    record.addProperty("split", "validation");
    metrics.forEach(record::addProperty);
    record.add("confusion_matrix", MetricsFormat.confusionJson(cm));
    state.history.add(record);
    if (writer) {
      logs.scalars(metrics, state.globalStep, epoch, "validation");
    }
    return metrics;
  }

  /** Updates the early-stopping counters with a validation; true when the run should stop. */
  private boolean earlyStop(State state, Map<String, Double> metrics) {
    TrainConfig.EarlyStopping es = cfg.earlyStopping();
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
    if (state.badValidations >= es.patience() && collective.rank() == 0) {
      System.out.printf(Locale.ROOT, "train: early stopping: %s has not improved by more than %s for %d validations"
          + " (best %.4f)%n", es.monitor(), es.minDelta(), state.badValidations, state.bestMonitored);
    }
    return state.badValidations >= es.patience();
  }

  private void checkpoint(
      CheckpointStore store, BertClassifier model, AdamW optimizer, State state, Map<String, Double> metrics,
      RunLogs logs) {
    state.lastMetrics = metrics == null ? state.lastMetrics : metrics;
    if (!writer) {
      return;
    }
    Map<String, Double> ranked = metrics == null ? Map.of() : metrics;
    JsonObject extra = new JsonObject();
    extra.addProperty("position", state.position);
    String name = Checkpoints.name(state.epoch, state.globalStep);
    Map<String, String> meta = Map.of("format", "pt");
    Map<String, NDArray> optState = optimizer.state();
    JsonObject trainerState = state.toJson(cfg, in);
    List<CheckpointFile> files = List.of(
        CheckpointFile.of(CheckpointLayout.WEIGHTS, out -> model.save(out, meta)),
        CheckpointFile.ofBytes(CheckpointLayout.CONFIG, modelConfig.toJson().getBytes(StandardCharsets.UTF_8)),
        CheckpointFile.ofBytes(CheckpointLayout.TOKENIZER, in.tokenizerJson()),
        CheckpointFile.of(CheckpointLayout.OPTIMIZER, out -> Safetensors.writeArrays(out, optState,
            Map.of("step", Long.toString(optimizer.stepCount())))),
        CheckpointFile.ofJson(CheckpointLayout.TRAINER_STATE, trainerState));
    Checkpoint saved = store.write(name, new CheckpointMetadata(state.epoch, state.globalStep, ranked, extra), files);
    TrainConfig.Checkpointing ck = cfg.checkpoint();
    store.retain(ck.saveTopK(), ck.monitor(), ck.mode(), ck.saveLast());
    logs.flush();
    for (Listener l : listeners) {
      l.afterCheckpoint(saved);
    }
  }

  private Summary summarize(
      CheckpointStore store, State state, Map<String, Double> lastMetrics, double seconds, double samplesPerSecond) {
    String bestPath = "";
    Map<String, Double> bestMetrics = Map.of();
    if (writer) {
      Checkpoint best = store.best(cfg.checkpoint().monitor(), cfg.checkpoint().mode())
          .orElse(store.last().orElse(null));
      if (best != null) {
        bestPath = best.path().toString();
        bestMetrics = best.metrics();
      }
    }
    // state.epoch is the epoch to continue from, so it counts the epochs already completed.
    return new Summary(bestPath, bestMetrics, lastMetrics == null ? Map.of() : lastMetrics, state.globalStep,
        state.epoch, state.stopped, seconds, samplesPerSecond);
  }

  private static Map<String, Safetensors.Tensor> readTensors(Checkpoint checkpoint, String file) {
    try (InputStream s = checkpoint.open(file)) {
      return Safetensors.read(s, checkpoint.path() + "/" + file);
    } catch (IOException e) {
      throw new TextSparkException("cannot read " + file + " of checkpoint " + checkpoint.path() + ": "
          + e.getMessage(), e);
    }
  }

  private static void loadOptimizer(AdamW optimizer, BertClassifier model, Checkpoint checkpoint, long globalStep) {
    Map<String, Safetensors.Tensor> tensors = readTensors(checkpoint, CheckpointLayout.OPTIMIZER);
    Map<String, float[]> state = new LinkedHashMap<>();
    tensors.forEach((k, v) -> state.put(k, v.toFloatArray()));
    optimizer.loadFloats(state, model.parameters(), globalStep);
  }

  private static Examples firstRows(Examples examples, int n) {
    int count = Math.min(n, examples.size());
    int[] positions = new int[count];
    for (int i = 0; i < count; i++) {
      positions[i] = i;
    }
    return examples.subset(positions);
  }

  /** Where the run is: what a checkpoint's {@code trainer_state.json} records and resume restores. */
  private static final class State {
    int epoch;
    int position;
    long globalStep;
    // The data order: the plan's version and the global batch its epochs were cut into.
    int planVersion = StepPlan.VERSION;
    int globalBatch;
    // The checkpoint run's train.workers, train.accumulate and train.batch_size, for error messages.
    String batchKeys = "";
    boolean stopped;
    Double bestMonitored;
    int badValidations;
    Map<String, Double> lastMetrics;
    final JsonArray history = new JsonArray();

    static State fresh() {
      return new State();
    }

    static State read(Checkpoint checkpoint) {
      JsonObject o;
      try (InputStream s = checkpoint.open(CheckpointLayout.TRAINER_STATE)) {
        o = JsonParser.parseString(new String(s.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
      } catch (IOException | RuntimeException e) {
        throw new TextSparkException("cannot read " + CheckpointLayout.TRAINER_STATE + " of checkpoint " + checkpoint.path() + ": "
            + e.getMessage() + ". Resume from another checkpoint (train.resume_from).", e);
      }
      State s = new State();
      s.epoch = o.get("epoch").getAsInt();
      s.position = o.get("position").getAsInt();
      s.globalStep = o.get("global_step").getAsLong();
      readDataOrder(s, o);
      s.stopped = o.has("stopped") && o.get("stopped").getAsBoolean();
      s.bestMonitored = o.has("early_stopping_best") ? o.get("early_stopping_best").getAsDouble() : null;
      s.badValidations = o.has("early_stopping_wait") ? o.get("early_stopping_wait").getAsInt() : 0;
      if (o.has("last_metrics")) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : o.getAsJsonObject("last_metrics").entrySet()) {
          m.put(e.getKey(), e.getValue().getAsDouble());
        }
        s.lastMetrics = m;
      }
      if (o.has("history")) {
        s.history.addAll(o.getAsJsonArray("history"));
      }
      return s;
    }

    /**
     * Reads the data order. Checkpoints before plan version 2 recorded {@code shards} instead: with
     * one shard their order is version 2's with the global batch of their configuration; with more,
     * each shard was planned on its own, an order no longer reproduced.
     */
    private static void readDataOrder(State s, JsonObject o) {
      JsonObject train = o.has("config") && o.get("config").isJsonObject()
          && o.getAsJsonObject("config").has("train") ? o.getAsJsonObject("config").getAsJsonObject("train") : null;
      int configured = 0;
      if (train != null && train.has("workers") && train.has("accumulate") && train.has("batch_size")) {
        configured = train.get("workers").getAsInt() * train.get("accumulate").getAsInt()
            * train.get("batch_size").getAsInt();
        s.batchKeys = "train.workers=" + train.get("workers").getAsInt() + " train.accumulate="
            + train.get("accumulate").getAsInt() + " train.batch_size=" + train.get("batch_size").getAsInt();
      }
      if (o.has("plan_version")) {
        s.planVersion = o.get("plan_version").getAsInt();
        s.globalBatch = o.get("global_batch").getAsInt();
      } else {
        boolean oneShard = !o.has("shards") || o.get("shards").getAsInt() == 1;
        s.planVersion = oneShard && configured > 0 ? StepPlan.VERSION : 1;
        s.globalBatch = configured;
      }
    }

    JsonObject toJson(TrainConfig cfg, TrainInputs in) {
      JsonObject o = new JsonObject();
      o.addProperty("epoch", epoch);
      o.addProperty("position", position);
      o.addProperty("global_step", globalStep);
      o.addProperty("plan_version", StepPlan.VERSION);
      o.addProperty("global_batch", globalBatch(cfg));
      o.addProperty("stopped", stopped);
      o.addProperty("seed", cfg.seed());
      o.addProperty("data_order", "BatchPlan(whole training set, global_batch, seed, epoch, bucket_batches) per epoch,"
          + " each global batch dealt round-robin over the workers' micro-batches; dropout seed from (seed, step,"
          + " micro-batch, rank)");
      if (bestMonitored != null) {
        o.addProperty("early_stopping_best", bestMonitored);
      }
      o.addProperty("early_stopping_wait", badValidations);
      if (lastMetrics != null) {
        o.add("last_metrics", MetricsFormat.json(lastMetrics));
      }
      o.add("history", history);
      o.addProperty("model", in.modelReference());
      o.add("config", JsonParser.parseString(in.resolvedConfig()));
      return o;
    }
  }

  /** The run's TensorBoard events and JSON-lines metrics, or nothing on non-writing workers. */
  private static final class RunLogs implements AutoCloseable {
    private final TensorBoardWriter tensorboard;
    private final MetricsLog jsonl;

    private RunLogs(TensorBoardWriter tensorboard, MetricsLog jsonl) {
      this.tensorboard = tensorboard;
      this.jsonl = jsonl;
    }

    static RunLogs none() {
      return new RunLogs(null, null);
    }

    static RunLogs open(Path dir, Configuration conf) {
      try {
        FileSystem fs = HadoopPaths.fs(dir, conf);
        fs.mkdirs(dir);
        // Event file names have one-second resolution: a run resumed within the same second as the
        // previous attempt needs a suffix so it does not collide with that attempt's file.
        String suffix = "";
        for (int attempt = 1; fs.exists(new Path(dir, TensorBoardWriter.fileName(suffix))); attempt++) {
          suffix = "." + attempt;
        }
        TensorBoardWriter tb = new TensorBoardWriter(name -> fs.create(new Path(dir, name), false), suffix);
        Path metrics = new Path(dir, "metrics.jsonl");
        byte[] previous = fs.exists(metrics) ? HadoopPaths.readBytes(metrics, conf) : new byte[0];
        OutputStream out = fs.create(metrics, true);
        out.write(previous); // append without relying on append support (S3A has none)
        return new RunLogs(tb, new MetricsLog(out));
      } catch (IOException e) {
        throw new TextSparkException("cannot write the run's logs under " + dir + ": " + e.getMessage()
            + ". Choose a writable train.output_dir.", e);
      }
    }

    void scalars(Map<String, Double> values, long step, int epoch, String split) {
      if (tensorboard == null) {
        return;
      }
      tensorboard.scalars(values, step);
      JsonObject record = new JsonObject();
      record.addProperty("step", step);
      record.addProperty("epoch", epoch);
      record.addProperty("split", split);
      values.forEach(record::addProperty);
      jsonl.log(record);
    }

    void flush() {
      if (tensorboard != null) {
        tensorboard.flush();
      }
    }

    @Override
    public void close() {
      if (tensorboard != null) {
        tensorboard.close();
        jsonl.close();
      }
    }
  }
}
