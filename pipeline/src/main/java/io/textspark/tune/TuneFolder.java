package io.textspark.tune;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.TuneConfig;
import io.textspark.console.Console;
import io.textspark.fs.HadoopPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The tune folder's state: {@code tune.json} (the planned trials, written first) and each trial's
 * {@code trials/<id>/trial.json}, every file written atomically. Starting a tune where one exists
 * needs {@code tune.resume=true} or {@code tune.overwrite=true}.
 */
final class TuneFolder {
  static final String PLAN = "tune.json";
  static final String TRIAL = "trial.json";

  private TuneFolder() {}

  /** Folder of trial {@code t}: a normal train run folder plus its {@code trial.json}. */
  static Path trialDir(Path out, Trial t) {
    return new Path(new Path(out, "trials"), t.id());
  }

  /** The trials to run: fresh ones, or with {@code tune.resume} those the folder records. */
  static List<Trial> prepare(Path out, List<Map<String, String>> planned, TuneConfig tc, Configuration conf) {
    Path plan = new Path(out, PLAN);
    boolean exists = HadoopPaths.exists(out, conf) && HadoopPaths.exists(plan, conf);
    if (exists && tc.resume()) {
      return resume(out, planned, conf);
    }
    if (HadoopPaths.exists(out, conf)) {
      if (!tc.overwrite() && !(tc.resume() && !exists)) {
        throw new TextSparkException("tune.output_dir " + out + " already exists: continue that tune with"
            + " tune.resume=true, replace it with --overwrite (tune.overwrite=true), or choose another folder.");
      }
      if (tc.overwrite()) {
        HadoopPaths.deleteQuietly(out, conf);
      }
    } else if (tc.resume()) {
      Console.info("tune: nothing to resume at " + out + "; starting the tune");
    }
    List<Trial> trials = new ArrayList<>();
    JsonArray params = new JsonArray();
    for (int i = 0; i < planned.size(); i++) {
      trials.add(new Trial(i, planned.get(i)));
      params.add(trials.get(i).toJson().getAsJsonObject("params"));
    }
    JsonObject o = new JsonObject();
    o.add("trials", params);
    write(plan, o, conf);
    return trials;
  }

  private static List<Trial> resume(Path out, List<Map<String, String>> planned, Configuration conf) {
    JsonArray recorded = read(new Path(out, PLAN), conf).getAsJsonArray("trials");
    List<Trial> trials = new ArrayList<>();
    for (int i = 0; i < planned.size(); i++) {
      trials.add(new Trial(i, planned.get(i)));
    }
    if (!recorded.equals(paramsOf(trials))) {
      throw new TextSparkException("the tune in " + out + " planned other trials than this configuration does"
          + " (tune.space, tune.search, tune.trials or tune.seed changed): resume it with its own settings, or start"
          + " afresh with --overwrite.");
    }
    int done = 0;
    for (int i = 0; i < trials.size(); i++) {
      Path file = new Path(trialDir(out, trials.get(i)), TRIAL);
      if (HadoopPaths.exists(file, conf)) {
        trials.set(i, Trial.fromJson(read(file, conf)));
        done += trials.get(i).done() ? 1 : 0;
      }
    }
    Console.info("tune: resuming %s: %d of %d trials already finished", out, done, trials.size());
    return trials;
  }

  private static JsonArray paramsOf(List<Trial> trials) {
    JsonArray a = new JsonArray();
    trials.forEach(t -> a.add(t.toJson().getAsJsonObject("params")));
    return a;
  }

  /** Writes {@code t}'s {@code trial.json} atomically. */
  static void save(Path out, Trial t, Configuration conf) {
    write(new Path(trialDir(out, t), TRIAL), t.toJson(), conf);
  }

  static JsonObject read(Path file, Configuration conf) {
    try {
      JsonElement e = JsonParser.parseString(HadoopPaths.readString(file, conf));
      return e.getAsJsonObject();
    } catch (IOException | RuntimeException e) {
      throw new TextSparkException("cannot read " + file + " (" + e.getMessage() + "): the tune folder is damaged;"
          + " start afresh with --overwrite.", e);
    }
  }

  static void write(Path file, JsonObject o, Configuration conf) {
    try {
      HadoopPaths.fs(file, conf).mkdirs(file.getParent());
      HadoopPaths.writeAtomically(file, o.toString().getBytes(StandardCharsets.UTF_8), conf);
    } catch (IOException e) {
      throw new TextSparkException("cannot write " + file + ": " + e.getMessage()
          + ". Choose a tune.output_dir you can write to.", e);
    }
  }
}
