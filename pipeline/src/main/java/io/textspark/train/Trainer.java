package io.textspark.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
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
import io.textspark.console.Console;
import io.textspark.evaluate.Evaluator;
import io.textspark.fs.HadoopPaths;
import io.textspark.metrics.MetricsByDomain;
import io.textspark.metrics.MetricsFormat;
import io.textspark.metrics.MetricsSink;
import io.textspark.metrics.RunLogs;
import io.textspark.metrics.TimeLeft;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamilies;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;

/**
 * Fine-tunes a {@link TextClassifier} the way PyTorch Lightning's {@code Trainer} would: AdamW with
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

    /**
     * Called once a validation's checkpoint is committed, with the number of validations of the
     * whole run so far (a resumed run counts those before the resume too) and their metrics.
     * Returning true pauses the run there (unless it ends there anyway): it ends as if killed after
     * that checkpoint, so resuming from {@code last} continues exactly, with the learning-rate
     * schedule of the whole run. The tuner trains a trial rung by rung this way.
     */
    default boolean pauseAfterValidation(int validations, long globalStep, Map<String, Double> metrics) {
      return false;
    }
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
  private final ClassifierConfig modelConfig;
  private final Device device;
  private final StepPlan plan;
  private final CheckpointPolicy policy;
  private final MetricsSink.Factory sinks;
  private final ReplicaSync sync;

  private Trainer(TrainConfig cfg, TrainInputs in, Collective collective, List<Listener> listeners, Device device,
      MetricsSink.Factory sinks) {
    this.cfg = cfg;
    this.policy = new CheckpointPolicy(cfg);
    this.sync = new ReplicaSync(collective);
    this.sinks = sinks;
    this.in = in;
    this.collective = collective;
    this.listeners = listeners;
    this.writer = collective.rank() == 0 && !cfg.fastDevRun();
    this.modelConfig = in.modelConfig().withDropout(cfg.dropout());
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
    return fit(cfg, in, collective, listeners, device, RunLogs::open);
  }

  /**
   * Trains on {@code device} with rank 0's metrics going to the sinks {@code sinks} opens in the
   * run's {@code logs/} folder; returns the run's summary.
   */
  public static Summary fit(TrainConfig cfg, TrainInputs in, Collective collective, List<Listener> listeners,
      Device device, MetricsSink.Factory sinks) {
    return new Trainer(cfg, in, collective, listeners, device, sinks).run();
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

  private Summary run() {
    in.train().checkLabels(modelConfig.numLabels(), modelConfig.labels());
    in.validation().checkLabels(modelConfig.numLabels(), modelConfig.labels());
    CheckpointStore store = new CheckpointStore(new Path(in.outputDir(), "checkpoints"), in.hadoopConf());
    Checkpoint resumeFrom = cfg.resumeFrom().isEmpty()
        ? null : policy.resolve(store, cfg.resumeFrom());
    TrainState state = resumeFrom == null ? TrainState.fresh() : TrainState.read(resumeFrom);
    if (resumeFrom != null) {
      Resumption.checkDataOrder(cfg, resumeFrom, state);
      String done = Resumption.nothingLeft(cfg, resumeFrom, state);
      if (done != null) {
        // Nothing is written, not even logs: the run folder stays exactly as the last run left it.
        if (collective.rank() == 0) {
          Console.info(done);
        }
        return Resumption.finishedSummary(policy, store, state);
      }
    }
    if (writer) {
      store.cleanupStaging();
    }
    long started = System.nanoTime();
    try (NDManager root = device == null ? NDManager.newBaseManager() : NDManager.newBaseManager(device);
        MetricsSink logs = writer ? sinks.open(new Path(in.outputDir(), "logs"), in.hadoopConf()) : MetricsSink.none()) {
      Map<String, Safetensors.Tensor> weights = resumeFrom == null ? in.weights() : readTensors(resumeFrom, CheckpointLayout.WEIGHTS);
      TextClassifier model = ModelFamilies.load(root, modelConfig, weights, cfg.seed());
      AdamW optimizer = new AdamW(root, cfg.weightDecay());
      if (resumeFrom != null) {
        loadOptimizer(optimizer, model, resumeFrom, state.globalStep);
        if (collective.rank() == 0) {
          Console.info("train: resumed from " + resumeFrom.path() + " (epoch " + (state.epoch + 1) + ", step "
              + state.globalStep + ", batch " + state.position + " of the epoch)");
        }
      } else if (collective.size() > 1) {
        sync.broadcastWeights(model.parameters().values());
      }
      model.setRequiresGradient(true);
      Summary summary = loop(root, model, optimizer, store, logs, state, started);
      logs.finished(summary.bestCheckpoint());
      return summary;
    }
  }

  private Summary loop(
      NDManager root, TextClassifier model, AdamW optimizer, CheckpointStore store, MetricsSink logs, TrainState state,
      long started) {
    long stepsPerEpoch = plan.stepsPerEpoch();
    long planned = (long) cfg.epochs() * stepsPerEpoch;
    long totalSteps = cfg.maxSteps() > 0 ? Math.min(planned, cfg.maxSteps()) : planned;
    LrSchedule schedule = new LrSchedule(cfg.lr(), (long) Math.ceil(cfg.warmupRatio() * totalSteps), totalSteps);
    Examples validation = cfg.fastDevRun() ? firstRows(in.validation(), cfg.valBatchSize()) : in.validation();
    Map<String, Double> lastMetrics = state.lastMetrics;
    // run() returned already when a resumed run has nothing left to do, whatever stopped it before.
    boolean stop = false;
    boolean paused = false;
    long trainedRows = 0;
    double trainSeconds = 0;
    if (collective.rank() == 0) {
      Console.info("train: %d rows, global batch %d (%d workers x %d micro-batches of at most %d"
          + " rows), %d steps per epoch, %d epochs (%d steps)%s", in.train().size(), globalBatch(cfg),
          collective.size(), plan.microBatches(), cfg.batchSize(), stepsPerEpoch, cfg.epochs(), totalSteps,
          cfg.fastDevRun() ? "; fast_dev_run: 1 batch each" : "");
    }
    for (int epoch = state.epoch; epoch < cfg.epochs() && !stop && !paused; epoch++) {
      List<List<int[]>> steps = plan.epoch(epoch);
      int position = epoch == state.epoch ? state.position : 0;
      long windowStart = System.nanoTime();
      long windowRows = 0;
      double windowLoss = 0;
      long windowSteps = 0;
      double timedSeconds = 0;
      long timedSteps = 0;
      sync.resetTimes();
      while (position < steps.size() && !stop && !paused) {
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
          sync.reportTimings(timedSeconds / timedSteps, timedSteps, state.globalStep, epoch, logs, writer);
          sync.resetTimes();
          timedSeconds = 0;
          timedSteps = 0;
        }
        if (collective.rank() == 0 && (state.globalStep % cfg.logEverySteps() == 0 || last || stop || hitMax)) {
          double secs = (System.nanoTime() - windowStart) / 1e9;
          long doneInRun = state.globalStep;
          long remaining = Math.max(0, totalSteps - doneInRun);
          double perStep = windowSteps == 0 ? 0 : secs / windowSteps;
          Console.info("epoch %d/%d  step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %.1f samples/s"
              + "  ETA %s", epoch + 1, cfg.epochs(), doneInRun, totalSteps, windowLoss / Math.max(1, windowSteps),
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
          stop = policy.shouldStop(state, lastMetrics, this::reportEarlyStop);
          checkpoint(store, model, optimizer, state, lastMetrics, logs);
          paused = pauseRequested(state, lastMetrics) && !stop;
        } else if (midEpoch && cfg.checkpoint().everySteps() > 0
            && state.globalStep % cfg.checkpoint().everySteps() == 0) {
          state.epoch = epoch;
          state.position = position;
          checkpoint(store, model, optimizer, state, null, logs);
        }
      }
      if (!paused && (position >= steps.size() || stop)) {
        lastMetrics = validate(root, model, validation, state, epoch, logs);
        boolean finished = position >= steps.size();
        state.epoch = finished ? epoch + 1 : epoch;
        state.position = finished ? 0 : position;
        if (policy.shouldStop(state, lastMetrics, this::reportEarlyStop)) {
          stop = true;
        }
        state.stopped = stop && state.epoch < cfg.epochs();
        checkpoint(store, model, optimizer, state, lastMetrics, logs);
        paused = pauseRequested(state, lastMetrics) && !stop && state.epoch < cfg.epochs();
        if (collective.rank() == 0) {
          Console.info("epoch %d/%d done: %s  (RSS %s, heap %s)", epoch + 1, cfg.epochs(),
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

  /**
   * Whether a listener asks to pause after the validation just checkpointed. Every listener sees
   * every validation, the last one included; a run that ends there anyway just ends.
   */
  private boolean pauseRequested(TrainState state, Map<String, Double> metrics) {
    boolean pause = false;
    for (Listener l : listeners) {
      pause |= l.pauseAfterValidation(state.history.size(), state.globalStep, metrics);
    }
    return pause;
  }

  /** One optimizer step over {@code micro} micro-batches. */
  private StepResult step(
      NDManager root, TextClassifier model, AdamW optimizer, List<int[]> micro, double lr, long globalStep) {
    long stepStart = System.nanoTime();
    Examples train = in.train();
    long localRows = 0;
    for (int[] batch : micro) {
      localRows += batch.length;
    }
    double[] rows = {localRows};
    sync.allReduceSum(rows);
    double ceSum = 0;
    int numLabels = modelConfig.numLabels();
    try (NDManager step = root.newSubManager()) {
      for (int j = 0; j < micro.size(); j++) {
        if (micro.get(j).length == 0) {
          continue; // a global batch smaller than workers x accumulate leaves some micro-batches empty
        }
        Engine.getInstance().setRandomSeed(dropoutSeed(cfg.seed(), globalStep, j, collective.rank()));
        PaddedBatch batch = PaddedBatch.of(train, micro.get(j), modelConfig.padTokenId());
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
        sync.allReduceGradients(grads);
      }
      double norm = GradientClipping.globalNorm(grads.values());
      if (Double.isFinite(norm)) {
        // Clipping's factor is applied inside the optimizer's pass instead of in a pass of its own.
        optimizer.step(model.parameters(), grads, lr, GradientClipping.coefficient(norm, cfg.maxGradNorm()));
      } else {
        Console.warn("train: warning: gradient norm is " + norm + " at step " + (globalStep + 1)
            + " (first non-finite gradient: " + firstNonFinite(grads) + "); the update was skipped. Lower train.lr"
            + " if this repeats.");
      }
      model.zeroGradients();
      double[] loss = {ceSum};
      sync.allReduceSum(loss);
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

  /** A dropout seed that depends only on where in training a micro-batch is. */
  static int dropoutSeed(long seed, long globalStep, int micro, int rank) {
    long z = seed * 0x9E3779B97F4A7C15L + globalStep * 0xBF58476D1CE4E5B9L + micro * 0x94D049BB133111EBL + rank;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return (int) ((z ^ (z >>> 31)) & 0x7fffffff);
  }

  private Map<String, Double> validate(
      NDManager root, TextClassifier model, Examples validation, TrainState state, int epoch, MetricsSink logs) {
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

  private void reportEarlyStop(String why) {
    if (collective.rank() == 0) {
      Console.info("train: early stopping: " + why);
    }
  }

  private void checkpoint(
      CheckpointStore store, TextClassifier model, AdamW optimizer, TrainState state, Map<String, Double> metrics,
      MetricsSink logs) {
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
    policy.retain(store);
    logs.flush();
    for (Listener l : listeners) {
      l.afterCheckpoint(saved);
    }
  }

  private Summary summarize(
      CheckpointStore store, TrainState state, Map<String, Double> lastMetrics, double seconds, double samplesPerSecond) {
    String bestPath = "";
    Map<String, Double> bestMetrics = Map.of();
    if (writer) {
      Checkpoint best = policy.best(store).orElse(null);
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

  private static void loadOptimizer(AdamW optimizer, TextClassifier model, Checkpoint checkpoint, long globalStep) {
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

}
