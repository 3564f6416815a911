package io.textspark.tune;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.config.ConfigError;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.config.TuneConfig;
import io.textspark.console.Console;
import io.textspark.fs.HadoopPaths;
import io.textspark.metrics.MetricsSink;
import io.textspark.report.RunMetrics;
import io.textspark.tracking.TrackingSinks;
import io.textspark.train.CheckpointPolicy;
import io.textspark.train.DistributedTraining;
import io.textspark.train.TrainJob;
import io.textspark.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code tune} command. The driver keeps ASHA's rungs and takes every decision: each of
 * {@code tune.parallelism} threads takes a pending trial and trains it segment by segment, one
 * Spark job of one task per segment ({@link Segment}; with {@code tune.workers_per_trial} > 1, one
 * barrier stage of {@link DistributedTraining}), from rung to rung; after each rung it asks
 * {@link Asha} whether the trial goes on, and when it stops (or finishes, or fails) the thread takes
 * the next pending trial. Every trial is a normal train run in {@code trials/<id>/} with the base
 * configuration plus the trial's settings; its {@code trial.json} is rewritten after every segment,
 * so {@code tune.resume=true} continues a killed tune from the files alone. A space over
 * {@code model.name} or {@code model.revision} groups the trials by model ({@link TrialModels}): each
 * model is loaded once, with data tokenized by its own tokenizer, and its trials use only its broadcasts.
 */
public final class TuneJob {
  private TuneJob() {}

  /**
   * What a tune reports.
   *
   * @param trials the trials, in their order
   * @param monitor the metric trials are compared on
   * @param seconds wall time of this invocation
   * @param fullSeconds estimated wall time of training every trial fully with the same parallelism: the
   *     sum of each trial's measured seconds per step (without the start of its segments) times its
   *     planned steps, over the parallel slots
   * @param best the best completed or stopped trial, or null when none validated
   */
  public record Result(List<TrialView> trials, String monitor, double seconds, double fullSeconds, TrialView best) {}

  /**
   * One trial as the table shows it.
   *
   * @param number the trial's number
   * @param params its settings
   * @param status completed, stopped, failed (or pending/running in an interrupted tune)
   * @param best its best monitored value (NaN when it never validated)
   * @param steps optimizer steps trained
   * @param bestCheckpoint path of its best checkpoint, empty when none
   */
  public record TrialView(int number, Map<String, String> params, String status, double best, long steps,
      String bestCheckpoint) {}

  /** Runs the search {@code config}'s {@code tune} section describes; returns its result. */
  public static Result run(SparkSession spark, TextSparkConfig config) {
    long started = System.nanoTime();
    TuneConfig tc = config.tune();
    SparkContext sc = spark.sparkContext();
    Configuration conf = config.hadoop().applyTo(sc.hadoopConfiguration());
    Path out = HadoopPaths.qualify(new Path(tc.outputDir()), conf);
    SearchSpace space = SearchSpace.parse(tc.space(), config.raw());
    List<Map<String, String>> planned =
        tc.search().equals("grid") ? space.grid() : space.random(tc.trials(), tc.seed());
    List<TextSparkConfig> configs = new ArrayList<>();
    for (int i = 0; i < planned.size(); i++) {
      // every trial's settings are valid
      configs.add(trialConfig(config, out, new Trial(i, planned.get(i)), false, List.of()));
    }
    checkSlots(sc, tc);
    TrialModels models = TrialModels.load(configs, conf);
    List<Trial> trials = TuneFolder.prepare(out, planned, tc, conf);
    CheckpointPolicy policy = new CheckpointPolicy(config.train());
    RungMetric rung = RungMetric.of(tc, policy);
    Asha asha = new Asha(tc.gracePeriod(), tc.reductionFactor(), rung.maximize());
    for (Trial t : trials) {
      t.rungs.forEach(r -> asha.restore(t.id(), r.validations(), r.value()));
    }

    long left = trials.stream().filter(t -> !t.done()).count();
    Console.info("tune: %d trials (%d to train), %s search over %s; %d in parallel; ASHA rungs at %d, %d, %d, ..."
        + " validations of %s (%s); output %s", trials.size(), left, tc.search(), planned.get(0).keySet(),
        tc.parallelism(), tc.gracePeriod(), tc.gracePeriod() * tc.reductionFactor(),
        tc.gracePeriod() * tc.reductionFactor() * tc.reductionFactor(), rung.name(),
        rung.maximize() ? "max" : "min", out);
    try (TuneTracking tracking = TuneTracking.start(config, out)) {
      Runner runner = new Runner(config, out, conf, asha, policy, rung, models, tracking, spark);
      try {
        trainAll(runner, trials, tc.parallelism());
      } catch (RuntimeException | Error e) {
        tracking.finish(Map.of(), out, conf, "FAILED");
        throw e;
      } finally {
        models.close();
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      Result result = result(trials, policy, seconds, tc.parallelism());
      TuneOutputs.write(spark, out, trials, result, conf);
      summarize(result, trials);
      tracking.finish(outcome(result), out, conf, "FINISHED");
      return result;
    }
  }

  /** Refuses, before any work, a tune whose trials at once need more task slots than the application has. */
  private static void checkSlots(SparkContext sc, TuneConfig tc) {
    int needed = tc.parallelism() * tc.workersPerTrial();
    int slots = DistributedTraining.taskSlots(sc);
    if (tc.workersPerTrial() > 1 && needed > slots) {
      throw new TextSparkException("tune.parallelism x tune.workers_per_trial = " + tc.parallelism() + " x "
          + tc.workersPerTrial() + " = " + needed + " task slots, but the application has " + slots + " (" + sc.master()
          + "). Lower tune.parallelism or tune.workers_per_trial, or add executors.");
    }
  }

  /** Trains every unfinished trial, {@code parallelism} at a time; a thread takes the next trial when one ends. */
  private static void trainAll(Runner runner, List<Trial> trials, int parallelism) {
    ExecutorService pool = Executors.newFixedThreadPool(parallelism);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (Trial t : trials) {
        if (!t.done()) {
          futures.add(pool.submit(() -> runner.train(t)));
        }
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TextSparkException("tune interrupted; continue it with tune.resume=true", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new TextSparkException("tune failed: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  /** The trial's configuration: the base, its settings, its folder, and where it resumes from. */
  static TextSparkConfig trialConfig(TextSparkConfig base, Path out, Trial t, boolean resume, List<String> extra) {
    List<String> overrides = new ArrayList<>();
    t.params.forEach((k, v) -> overrides.add(k + "=" + v));
    overrides.add("train.output_dir=" + TuneFolder.trialDir(out, t));
    overrides.add("train.resume_from=" + (resume ? "last" : ""));
    overrides.add("train.workers=" + base.tune().workersPerTrial());
    overrides.add("train.min_workers=" + base.tune().workersPerTrial());
    overrides.addAll(extra);
    try {
      return base.with(overrides);
    } catch (ConfigError e) {
      throw new ConfigError("trial " + t.number + " of tune.space " + t.params + ": " + e.getMessage());
    }
  }

  private static Result result(List<Trial> trials, CheckpointPolicy policy, double seconds, int parallelism) {
    List<TrialView> views = new ArrayList<>();
    TrialView best = null;
    double full = 0;
    for (Trial t : trials) {
      TrialView v = new TrialView(t.number, t.params, t.status, t.best, t.steps, t.bestCheckpoint);
      views.add(v);
      if (!Double.isNaN(t.secondsPerStep())) {
        full += t.secondsPerStep() * t.plannedSteps;
      }
      boolean candidate = !t.status.equals(Trial.FAILED) && !Double.isNaN(t.best) && !t.bestCheckpoint.isEmpty();
      if (candidate && (best == null
          || (policy.maximize() ? t.best > best.best() : t.best < best.best()))) {
        best = v;
      }
    }
    return new Result(views, policy.monitor(), seconds, full / Math.max(1, Math.min(parallelism, trials.size())),
        best);
  }

  private static void summarize(Result r, List<Trial> trials) {
    Console.info(TuneOutputs.table(r));
    long stopped = trials.stream().filter(t -> t.status.equals(Trial.STOPPED)).count();
    long failed = trials.stream().filter(t -> t.status.equals(Trial.FAILED)).count();
    Console.info(String.format(Locale.ROOT, "tune: %d trials (%d stopped early, %d failed) in %.0f s; training all %d"
        + " fully would take %.0f s (each trial's measured seconds per step x its planned steps, in parallel as"
        + " the tune): %.0f%%; best trial #%s %s %s", trials.size(), stopped, failed, r.seconds(), trials.size(),
        r.fullSeconds(), 100 * r.seconds() / Math.max(1e-9, r.fullSeconds()),
        r.best() == null ? "none" : Integer.toString(r.best().number()), r.monitor(),
        r.best() == null ? "-" : String.format(Locale.ROOT, "%.4f", r.best().best())));
  }

  /** The tune's figures as its tracking run's metrics. */
  private static Map<String, Double> outcome(Result r) {
    Map<String, Double> m = new java.util.LinkedHashMap<>();
    if (r.best() != null) {
      m.put("best_" + r.monitor().replace('/', '_'), r.best().best());
      m.put("best_trial", (double) r.best().number());
    }
    m.put("trials", (double) r.trials().size());
    m.put("seconds", r.seconds());
    m.put("full_training_seconds", r.fullSeconds());
    return m;
  }

  /**
   * The metric ASHA compares trials on at its rungs: {@code tune.rung_metric}, else the checkpoint
   * policy's monitor.
   */
  record RungMetric(String name, boolean maximize) {
    static RungMetric of(TuneConfig tc, CheckpointPolicy policy) {
      return tc.rungMetric().isEmpty() ? new RungMetric(policy.monitor(), policy.maximize())
          : new RungMetric(tc.rungMetric(), tc.rungMode().equals("max"));
    }
  }

  /** Trains trials segment by segment; shared by the driver's threads. */
  private record Runner(TextSparkConfig config, Path out, Configuration conf, Asha asha, CheckpointPolicy policy,
      RungMetric rung, TrialModels models, TuneTracking tracking, SparkSession spark) {

    void train(Trial t) {
      try {
        t.status = Trial.RUNNING;
        TuneFolder.save(out, t, conf);
        while (!segment(t)) {
          TuneFolder.save(out, t, conf);
        }
      } catch (Exception e) { // SparkException, which Scala throws undeclared, included
        t.status = Trial.FAILED;
        t.error = reason(e);
        Console.warn("tune: trial %d failed: %s", t.number, t.error);
      }
      CheckpointStore store = new CheckpointStore(new Path(TuneFolder.trialDir(out, t), "checkpoints"), conf);
      policy.best(store).ifPresent(c -> t.bestCheckpoint = c.path().toString());
      TuneFolder.save(out, t, conf);
    }

    /** Trains {@code t} to its next rung or its end; true when the trial needs no more training. */
    private boolean segment(Trial t) {
      boolean resume = new CheckpointStore(new Path(TuneFolder.trialDir(out, t), "checkpoints"), conf).last()
          .isPresent();
      TextSparkConfig tcfg = trialConfig(config, out, t, resume, tracking.trialOverrides(t.number));
      TrialModels.Model model = models.of(tcfg);
      t.plannedSteps = Trainer.totalSteps(tcfg.train(), model.trainRows(spark));
      int pauseAt = asha.nextRung(t.validations);
      JsonObject result = tcfg.train().workers() > 1 ? barrierSegment(t, tcfg, model, pauseAt)
          : taskSegment(t, tcfg, model, pauseAt);
      double lastValue = Double.NaN;
      double lastRungValue = Double.NaN;
      long lastStep = t.steps;
      for (JsonElement e : result.getAsJsonArray("validations")) {
        JsonObject v = e.getAsJsonObject();
        t.validations = v.get("validations").getAsInt();
        lastStep = v.get("step").getAsLong();
        lastValue = v.get("value").getAsDouble();
        lastRungValue = v.get("rung_value").getAsDouble();
        t.curve.add(new double[] {lastStep, lastValue});
        if (!Double.isNaN(lastValue) && (Double.isNaN(t.best) || (policy.maximize() ? lastValue > t.best
            : lastValue < t.best))) {
          t.best = lastValue;
        }
      }
      long step = result.get("global_step").getAsLong();
      t.stepsTrained += step - t.steps;
      t.steps = step;
      t.seconds += result.get("seconds").getAsDouble();
      t.timedSeconds += result.get("timed_seconds").getAsDouble();
      t.timedSteps += result.get("timed_steps").getAsLong();
      boolean finished = result.get("finished").getAsBoolean();
      if (result.getAsJsonArray("validations").isEmpty() && !finished) {
        throw new TextSparkException("trial " + t.number + " stopped without validating; see the log above");
      }
      if (result.getAsJsonArray("validations").isEmpty() || !asha.isRung(t.validations)) {
        // Finished between rungs; or (a tune killed between a checkpoint and its trial.json) resumed past a rung.
        t.status = finished ? Trial.COMPLETED : Trial.RUNNING;
        return finished;
      }
      boolean goOn = asha.report(t.id(), t.validations, lastRungValue);
      t.rungs.add(new Trial.Rung(t.validations, lastStep, lastRungValue, goOn || finished));
      Console.info(String.format(Locale.ROOT, "tune: trial %d at validation %d (step %d): %s %.4f%s -> %s", t.number,
          t.validations, lastStep, rung.name(), lastRungValue, rung.name().equals(policy.monitor()) ? ""
              : String.format(Locale.ROOT, " (%s %.4f)", policy.monitor(), lastValue),
          finished ? "finished" : goOn ? "goes on" : "stopped"));
      if (finished || !goOn) {
        t.status = finished ? Trial.COMPLETED : Trial.STOPPED;
        return true;
      }
      return false;
    }

    /** Where a trial's metrics go: its run logs, and its nested tracking run when the tune is tracked. */
    private MetricsSink.Factory sinks(TextSparkConfig tcfg, TrialModels.Model model, Path dir) {
      return TrackingSinks.of(tcfg.tracking(),
          TrainJob.describe(tcfg, spark.sparkContext().applicationId(), model.marker(), model.pretrained(), dir));
    }

    /** A segment of a single-worker trial: one Spark task ({@link Segment}) on its model's broadcasts. */
    private JsonObject taskSegment(Trial t, TextSparkConfig tcfg, TrialModels.Model model, int pauseAt) {
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      jsc.setLocalProperty("spark.job.description", "textspark tune: trial " + t.number + " to validation " + pauseAt);
      Segment task = new Segment(tcfg.train(), model.shared(spark), tcfg.renderedJson(), TuneFolder.trialDir(out, t),
          conf, policy.monitor(), rung.name(), pauseAt, sinks(tcfg, model, TuneFolder.trialDir(out, t)));
      return JsonParser.parseString(jsc.parallelize(List.of(t.number), 1).map(task).collect().get(0))
          .getAsJsonObject();
    }

    /**
     * A segment of a multi-worker trial: one barrier stage ({@link DistributedTraining}, restarts
     * included) on its model's tokenized rows, its validations read back from the trial's
     * {@code logs/metrics.jsonl}, in the shape of {@link Segment}'s result.
     */
    private JsonObject barrierSegment(Trial t, TextSparkConfig tcfg, TrialModels.Model model, int pauseAt) {
      Path dir = TuneFolder.trialDir(out, t);
      Trainer.Summary s = DistributedTraining.run(spark, tcfg, model.pretrained(), model.rows(spark, "train"),
          model.rows(spark, "validation"), dir, sinks(tcfg, model, dir), pauseAt);
      java.util.TreeMap<Long, Map<String, Double>> byStep = new java.util.TreeMap<>();
      for (Map<String, Double> v : RunMetrics.read(dir.toString(), conf).validation()) {
        long step = v.get("step").longValue();
        if (step > t.steps) {
          byStep.put(step, v);
        }
      }
      com.google.gson.JsonArray validations = new com.google.gson.JsonArray();
      int count = t.validations;
      for (Map.Entry<Long, Map<String, Double>> e : byStep.entrySet()) {
        JsonObject v = new JsonObject();
        v.addProperty("validations", ++count);
        v.addProperty("step", e.getKey());
        v.addProperty("value", e.getValue().getOrDefault(policy.monitor(), Double.NaN));
        v.addProperty("rung_value", e.getValue().getOrDefault(rung.name(), Double.NaN));
        validations.add(v);
      }
      TrainConfig cfg = tcfg.train();
      JsonObject result = new JsonObject();
      result.add("validations", validations);
      result.addProperty("seconds", s.seconds());
      result.addProperty("timed_seconds", s.seconds());
      result.addProperty("timed_steps", s.globalStep() - t.steps);
      result.addProperty("global_step", s.globalStep());
      result.addProperty("finished", s.stoppedEarly() || s.epochsCompleted() >= cfg.epochs()
          || (cfg.maxSteps() > 0 && s.globalStep() >= cfg.maxSteps()));
      return result;
    }
  }

  /** The innermost cause's message: what went wrong in the task, without Spark's wrapping. */
  static String reason(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String text = root.getMessage() == null ? root.getClass().getSimpleName()
        : root.getClass().getSimpleName() + ": " + root.getMessage();
    int newline = text.indexOf('\n');
    text = newline > 0 ? text.substring(0, newline) : text;
    return text.length() > 500 ? text.substring(0, 500) + "..." : text;
  }
}
