package io.textspark.train;

import ai.djl.Device;
import io.textspark.batch.Examples;
import io.textspark.collective.BarrierRendezvous;
import io.textspark.collective.RingCollective;
import io.textspark.compute.Compute;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import io.textspark.metrics.MetricsSink;
import io.textspark.fs.SerializableConfiguration;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamilies;
import io.textspark.model.Safetensors;
import java.io.ByteArrayInputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskKilledException;
import org.apache.spark.broadcast.Broadcast;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * One task of the training barrier stage: a worker with its own model replica. It takes the whole
 * training set and its share of the validation set (row p of the idx order for worker p mod N) from
 * the sets the driver broadcast, binds to its
 * GPU or to {@code spark.task.cpus} CPU threads, joins the ring, trains, and leaves the ring in
 * {@code finally}. Rank 0 returns the run's summary as JSON; the other ranks return nothing.
 */
final class TrainWorker extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
    implements Serializable {
  private static final long serialVersionUID = 1L;

  private final TrainConfig cfg;
  private final Broadcast<Examples> train;
  private final Broadcast<Examples> validation;
  private final Broadcast<byte[]> weights;
  private final String modelConfigJson;
  private final byte[] tokenizerJson;
  private final String modelReference;
  private final String resolvedConfig;
  private final String outputDir;
  private final SerializableConfiguration hadoopConf;
  private final long token;
  private final int attempt;
  private final MetricsSink.Factory sinks;
  private final int pauseAt;

  /**
   * Captures everything a worker needs; the task ships it to the executors.
   *
   * @param cfg the run's settings, with {@code resume_from} set to this attempt's checkpoint
   * @param train the whole training set, which every worker holds
   * @param validation the whole validation set, of which each worker evaluates its share
   * @param weights the pretrained weights as safetensors bytes, shipped once per executor
   * @param token the number that admits this attempt's tasks, and only them, into the ring
   * @param attempt 0 for the first run of the stage, then 1, 2, ... for restarts
   * @param sinks opens rank 0's metrics sinks in its executor (run logs, experiment tracking)
   * @param pauseAt the validation of the whole run after which the run pauses, 0 for none
   */
  TrainWorker(TrainConfig cfg, Broadcast<Examples> train, Broadcast<Examples> validation, Broadcast<byte[]> weights,
      ClassifierConfig modelConfig,
      byte[] tokenizerJson, String modelReference, String resolvedConfig, Path outputDir, Configuration hadoopConf,
      long token, int attempt, MetricsSink.Factory sinks, int pauseAt) {
    this.cfg = cfg;
    this.train = train;
    this.validation = validation;
    this.weights = weights;
    this.modelConfigJson = modelConfig.toJson();
    this.tokenizerJson = tokenizerJson;
    this.modelReference = modelReference;
    this.resolvedConfig = resolvedConfig;
    this.outputDir = outputDir.toString();
    this.hadoopConf = new SerializableConfiguration(hadoopConf);
    this.token = token;
    this.attempt = attempt;
    this.sinks = sinks;
    this.pauseAt = pauseAt;
  }

  @Override
  public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> partition) {
    return CollectionConverters.asScala(run(CollectionConverters.asJava(partition)));
  }

  private Iterator<String> run(Iterator<Integer> partition) {
    BarrierTaskContext context = BarrierTaskContext.get();
    int rank = context.partitionId();
    int workers = context.numPartitions();
    // Read-only, so the workers of one executor share the one copy Spark keeps per executor.
    Examples trainRows = train.value();
    Examples validationRows = share(validation.value(), rank, workers);

    // auto: the GPU Spark assigned to this task (spark.task.resource.gpu.amount), else the CPU.
    Compute.Placement placement = Compute.place("auto", cfg.threads());
    Device device = placement.device();
    int threads = placement.threads();
    Console.info("train: rank %d of %d (attempt %d) on %s with %d PyTorch threads: %d training and %d"
        + " validation rows", rank, workers, attempt, device, threads, trainRows.size(), validationRows.size());

    Map<String, Safetensors.Tensor> pretrained =
        Safetensors.read(new ByteArrayInputStream(weights.value()), modelReference + " (broadcast)");
    ClassifierConfig modelConfig =
        ModelFamilies.parseConfig(modelConfigJson, modelReference, modelReference + " (broadcast config.json)");
    TrainInputs inputs = new TrainInputs(trainRows, validationRows, modelConfig, pretrained,
        tokenizerJson, modelReference, resolvedConfig, new Path(outputDir), hadoopConf.get());
    List<Trainer.Listener> listeners = new ArrayList<>(List.of(stopWhenKilled(context)));
    listeners.addAll(WorkerHooks.listeners(rank, attempt));
    if (pauseAt > 0) {
      // Every rank validates together and counts the same validations, so all pause at the same one.
      listeners.add(new Trainer.Listener() {
        @Override
        public boolean pauseAfterValidation(int validations, long globalStep, Map<String, Double> metrics) {
          return validations >= pauseAt;
        }
      });
    }
    RingCollective ring = BarrierRendezvous.join(context, cfg.collectiveTimeout(), token);
    try {
      Trainer.Summary summary = Trainer.fit(cfg, inputs, ring, listeners, device, sinks);
      return rank == 0 ? List.of(summary.toJson().toString()).iterator() : Collections.emptyIterator();
    } finally {
      try {
        ring.close();
      } catch (RuntimeException e) {
        Console.warn("train: rank " + rank + ": closing the ring failed: " + e);
      }
    }
  }

  /** Worker {@code rank}'s share of {@code all}: the rows at positions p with p mod {@code workers} = rank. */
  static Examples share(Examples all, int rank, int workers) {
    int[] positions = new int[(all.size() - rank + workers - 1) / workers];
    for (int i = 0; i < positions.length; i++) {
      positions[i] = rank + i * workers;
    }
    return all.subset(positions);
  }

  /** Ends the worker between steps once Spark has killed the stage, instead of at its next collective call. */
  private static Trainer.Listener stopWhenKilled(BarrierTaskContext context) {
    return new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        if (context.isInterrupted()) {
          scala.Option<String> reason = context.getKillReason();
          throw new TaskKilledException(reason.isDefined() ? reason.get() : "killed");
        }
      }
    };
  }
}
