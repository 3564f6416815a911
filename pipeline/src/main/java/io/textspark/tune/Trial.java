package io.textspark.tune;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One trial of a tune and everything the tuner knows about it: its settings, status, the value it
 * recorded at each ASHA rung, and its time. Saved as {@code trials/<id>/trial.json} after every
 * segment, so a killed tune resumes from these files alone. One driver thread owns a trial at a time.
 */
final class Trial {
  /** Not started yet. */
  static final String PENDING = "pending";
  /** Started, not finished (a resumed tune continues it from its last checkpoint). */
  static final String RUNNING = "running";
  /** Trained its whole recipe. */
  static final String COMPLETED = "completed";
  /** Stopped early by ASHA at a rung; keeps its checkpoints and metrics. */
  static final String STOPPED = "stopped";
  /** Training threw; {@link #error} says why. */
  static final String FAILED = "failed";

  /** A value recorded at a rung, and whether the trial went on from there. */
  record Rung(int validations, long step, double value, boolean goOn) {}

  final int number;
  final Map<String, String> params;
  String status = PENDING;
  String error = "";
  final List<Rung> rungs = new ArrayList<>();
  /** Every validation of the monitored metric: step and value. */
  final List<double[]> curve = new ArrayList<>();
  int validations;
  long steps;
  long plannedSteps;
  /** Steps trained by this tune and the wall time of its segments. */
  long stepsTrained;
  double seconds;
  /** Steps timed for the seconds per step (each segment's after its first) and their time. */
  long timedSteps;
  double timedSeconds;
  double best = Double.NaN;
  String bestCheckpoint = "";

  Trial(int number, Map<String, String> params) {
    this.number = number;
    this.params = params;
  }

  /** The trial's folder name, {@code trial-007}. */
  String id() {
    return String.format(java.util.Locale.ROOT, "trial-%03d", number);
  }

  /** Whether the trial needs no more training. */
  boolean done() {
    return status.equals(COMPLETED) || status.equals(STOPPED) || status.equals(FAILED);
  }

  JsonObject toJson() {
    JsonObject o = new JsonObject();
    o.addProperty("trial", number);
    o.addProperty("id", id());
    JsonObject p = new JsonObject();
    params.forEach(p::addProperty);
    o.add("params", p);
    o.addProperty("status", status);
    o.addProperty("error", error);
    JsonArray r = new JsonArray();
    for (Rung rung : rungs) {
      JsonObject x = new JsonObject();
      x.addProperty("validations", rung.validations());
      x.addProperty("step", rung.step());
      x.addProperty("value", rung.value());
      x.addProperty("go_on", rung.goOn());
      r.add(x);
    }
    o.add("rungs", r);
    JsonArray c = new JsonArray();
    for (double[] point : curve) {
      JsonArray x = new JsonArray();
      x.add(point[0]);
      x.add(point[1]);
      c.add(x);
    }
    o.add("curve", c);
    o.addProperty("validations", validations);
    o.addProperty("steps", steps);
    o.addProperty("planned_steps", plannedSteps);
    o.addProperty("steps_trained", stepsTrained);
    o.addProperty("seconds", seconds);
    o.addProperty("timed_steps", timedSteps);
    o.addProperty("timed_seconds", timedSeconds);
    o.addProperty("best", best);
    o.addProperty("best_checkpoint", bestCheckpoint);
    return o;
  }

  static Trial fromJson(JsonObject o) {
    Map<String, String> params = new LinkedHashMap<>();
    for (Map.Entry<String, JsonElement> e : o.getAsJsonObject("params").entrySet()) {
      params.put(e.getKey(), e.getValue().getAsString());
    }
    Trial t = new Trial(o.get("trial").getAsInt(), params);
    t.status = o.get("status").getAsString();
    t.error = o.get("error").getAsString();
    for (JsonElement e : o.getAsJsonArray("rungs")) {
      JsonObject x = e.getAsJsonObject();
      t.rungs.add(new Rung(x.get("validations").getAsInt(), x.get("step").getAsLong(), x.get("value").getAsDouble(),
          x.get("go_on").getAsBoolean()));
    }
    for (JsonElement e : o.getAsJsonArray("curve")) {
      JsonArray x = e.getAsJsonArray();
      t.curve.add(new double[] {x.get(0).getAsDouble(), x.get(1).getAsDouble()});
    }
    t.validations = o.get("validations").getAsInt();
    t.steps = o.get("steps").getAsLong();
    t.plannedSteps = o.get("planned_steps").getAsLong();
    t.stepsTrained = o.get("steps_trained").getAsLong();
    t.seconds = o.get("seconds").getAsDouble();
    t.timedSteps = o.get("timed_steps").getAsLong();
    t.timedSeconds = o.get("timed_seconds").getAsDouble();
    t.best = o.get("best").getAsDouble();
    t.bestCheckpoint = o.get("best_checkpoint").getAsString();
    return t;
  }

  /**
   * Measured seconds per optimizer step, validations and checkpoints included but not the start of
   * each segment; NaN before any step was timed.
   */
  double secondsPerStep() {
    if (timedSteps > 0) {
      return timedSeconds / timedSteps;
    }
    return stepsTrained == 0 ? Double.NaN : seconds / stepsTrained;
  }
}
