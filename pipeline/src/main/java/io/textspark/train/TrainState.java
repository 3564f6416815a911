package io.textspark.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.config.TrainConfig;
import io.textspark.metrics.MetricsFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Where the run is: what a checkpoint's {@code trainer_state.json} records and resume restores. */
final class TrainState {
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

  static TrainState fresh() {
    return new TrainState();
  }

  static TrainState read(Checkpoint checkpoint) {
    JsonObject o;
    try (InputStream s = checkpoint.open(CheckpointLayout.TRAINER_STATE)) {
      o = JsonParser.parseString(new String(s.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (IOException | RuntimeException e) {
      throw new TextSparkException("cannot read " + CheckpointLayout.TRAINER_STATE + " of checkpoint " + checkpoint.path() + ": "
          + e.getMessage() + ". Resume from another checkpoint (train.resume_from).", e);
    }
    TrainState s = new TrainState();
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
  private static void readDataOrder(TrainState s, JsonObject o) {
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
    o.addProperty("global_batch", Trainer.globalBatch(cfg));
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
