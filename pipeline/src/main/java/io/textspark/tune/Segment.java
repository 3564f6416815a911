package io.textspark.tune;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.batch.Examples;
import io.textspark.collective.Collective;
import io.textspark.compute.Compute;
import io.textspark.config.TrainConfig;
import io.textspark.metrics.MetricsSink;
import io.textspark.fs.SerializableConfiguration;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamilies;
import io.textspark.model.Safetensors;
import io.textspark.train.Trainer;
import io.textspark.train.TrainInputs;
import io.textspark.train.WorkerHooks;
import java.io.ByteArrayInputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

/**
 * One segment of a trial, run as a Spark task: trains the trial (from its last checkpoint when it
 * has one) with {@code spark.task.cpus} PyTorch threads until its validation number
 * {@code pauseAt} (an ASHA rung) or the end of its recipe, and returns what happened as JSON: the
 * validations it made (step and monitored value), the run's step and whether it finished. The
 * data and pretrained weights come from its model's broadcasts, so each executor holds one copy for all
 * the trials of a model.
 */
final class Segment implements Function<Integer, String> {
  private static final long serialVersionUID = 1L;

  /** What the driver shares with every segment of one model's trials (one per model of a tune: {@link TrialModels}). */
  record Shared(Broadcast<Examples> train, Broadcast<Examples> validation, Broadcast<byte[]> weights,
      String modelConfigJson, byte[] tokenizerJson, String modelReference) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Frees the broadcasts on the driver and the executors once the tune is over. */
    void destroy() {
      train.destroy();
      validation.destroy();
      weights.destroy();
    }
  }

  private final TrainConfig cfg;
  private final Shared shared;
  private final String resolvedConfig;
  private final String outputDir;
  private final SerializableConfiguration hadoopConf;
  private final String monitor;
  private final String rungMetric;
  private final int pauseAt;
  private final MetricsSink.Factory sinks;

  Segment(TrainConfig cfg, Shared shared, String resolvedConfig, Path outputDir, Configuration conf, String monitor,
      String rungMetric, int pauseAt, MetricsSink.Factory sinks) {
    this.cfg = cfg;
    this.shared = shared;
    this.resolvedConfig = resolvedConfig;
    this.outputDir = outputDir.toString();
    this.hadoopConf = new SerializableConfiguration(conf);
    this.monitor = monitor;
    this.rungMetric = rungMetric;
    this.pauseAt = pauseAt;
    this.sinks = sinks;
  }

  @Override
  public String call(Integer ignored) {
    Compute.Placement placement = Compute.place("auto", cfg.threads());
    Map<String, Safetensors.Tensor> weights =
        Safetensors.read(new ByteArrayInputStream(shared.weights().value()), shared.modelReference() + " (broadcast)");
    ClassifierConfig modelConfig = ModelFamilies.parseConfig(shared.modelConfigJson(), shared.modelReference(),
        shared.modelReference() + " (broadcast config.json)");
    TrainInputs inputs = new TrainInputs(shared.train().value(), shared.validation().value(), modelConfig, weights,
        shared.tokenizerJson(), shared.modelReference(), resolvedConfig, new Path(outputDir), hadoopConf.get());
    JsonArray validations = new JsonArray();
    List<Trainer.Listener> listeners = new ArrayList<>(WorkerHooks.listeners(0, 0));
    long[] firstStep = {0, 0}; // when the first step of the segment ended, and the step
    listeners.add(new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        if (firstStep[0] == 0) {
          firstStep[0] = System.nanoTime();
          firstStep[1] = globalStep;
        }
      }

      @Override
      public boolean pauseAfterValidation(int count, long globalStep, Map<String, Double> metrics) {
        JsonObject v = new JsonObject();
        v.addProperty("validations", count);
        v.addProperty("step", globalStep);
        v.addProperty("value", metrics.getOrDefault(monitor, Double.NaN));
        v.addProperty("rung_value", metrics.getOrDefault(rungMetric, Double.NaN));
        validations.add(v);
        return count >= pauseAt;
      }
    });
    long started = System.nanoTime();
    Trainer.Summary summary = Trainer.fit(cfg, inputs, Collective.single(), listeners, placement.device(), sinks);
    JsonObject out = new JsonObject();
    out.add("validations", validations);
    long ended = System.nanoTime();
    out.addProperty("seconds", (ended - started) / 1e9);
    // From the end of the first step to the end of the segment: steps with their validations and
    // checkpoints, without loading the model and resuming, which a trial trained in one piece does once.
    out.addProperty("timed_seconds", firstStep[0] == 0 ? 0 : (ended - firstStep[0]) / 1e9);
    out.addProperty("timed_steps", firstStep[0] == 0 ? 0 : summary.globalStep() - firstStep[1]);
    out.addProperty("global_step", summary.globalStep());
    out.addProperty("finished", summary.stoppedEarly() || summary.epochsCompleted() >= cfg.epochs()
        || (cfg.maxSteps() > 0 && summary.globalStep() >= cfg.maxSteps()));
    return out.toString();
  }
}
