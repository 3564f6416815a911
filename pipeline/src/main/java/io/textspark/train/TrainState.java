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
  int shards = 1;
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
    s.shards = o.has("shards") ? o.get("shards").getAsInt() : 1;
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

  JsonObject toJson(TrainConfig cfg, TrainInputs in) {
    JsonObject o = new JsonObject();
    o.addProperty("epoch", epoch);
    o.addProperty("position", position);
    o.addProperty("global_step", globalStep);
    o.addProperty("shards", in.sharding().shards());
    o.addProperty("stopped", stopped);
    o.addProperty("seed", cfg.seed());
    o.addProperty("data_order", "row p (idx order) in shard p mod shards; per shard BatchPlan(shard seed, epoch);"
        + " dropout seed from (seed, step, micro-batch, rank)");
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
