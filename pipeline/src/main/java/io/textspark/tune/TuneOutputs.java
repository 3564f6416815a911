package io.textspark.tune;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.report.HtmlReport;
import io.textspark.report.Svg;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * What a tune leaves besides its trial folders, each written atomically: {@code trials.json} and
 * {@code trials.parquet} (one row per trial: settings, status, error, the value at each rung, best
 * value, steps, seconds), {@code best/} (a copy of the best trial's best checkpoint, which evaluate,
 * score, predict and export load) and {@code report.html} (monitored metric against each setting, a
 * non-numeric one such as {@code model.name} by category; every trial's validation curve; inline SVG).
 */
final class TuneOutputs {
  private static final StructType RUNG = new StructType()
      .add("validations", DataTypes.IntegerType).add("step", DataTypes.LongType)
      .add("value", DataTypes.DoubleType).add("go_on", DataTypes.BooleanType);
  private static final StructType SCHEMA = new StructType()
      .add("trial", DataTypes.IntegerType).add("id", DataTypes.StringType)
      .add("params", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType))
      .add("status", DataTypes.StringType).add("error", DataTypes.StringType)
      .add("rungs", DataTypes.createArrayType(RUNG)).add("best", DataTypes.DoubleType)
      .add("validations", DataTypes.IntegerType).add("steps", DataTypes.LongType)
      .add("planned_steps", DataTypes.LongType).add("seconds", DataTypes.DoubleType)
      .add("best_checkpoint", DataTypes.StringType);

  private TuneOutputs() {}

  static void write(SparkSession spark, Path out, List<Trial> trials, TuneJob.Result result, Configuration conf) {
    JsonArray all = new JsonArray();
    trials.forEach(t -> all.add(t.toJson()));
    JsonObject json = new JsonObject();
    json.addProperty("monitor", result.monitor());
    json.addProperty("best_trial", result.best() == null ? -1 : result.best().number());
    json.add("trials", all);
    TuneFolder.write(new Path(out, "trials.json"), json, conf);
    writeParquet(spark, out, trials, conf);
    if (result.best() != null) {
      copyBest(new Path(result.best().bestCheckpoint()), new Path(out, "best"), result.best().number(), conf);
    }
    try {
      HadoopPaths.writeAtomically(new Path(out, "report.html"),
          report(trials, result).getBytes(StandardCharsets.UTF_8), conf);
    } catch (IOException e) {
      throw new TextSparkException("cannot write " + out + "/report.html: " + e.getMessage(), e);
    }
  }

  private static void writeParquet(SparkSession spark, Path out, List<Trial> trials, Configuration conf) {
    List<Row> rows = new ArrayList<>();
    for (Trial t : trials) {
      List<Row> rungs = new ArrayList<>();
      t.rungs.forEach(r -> rungs.add(RowFactory.create(r.validations(), r.step(), r.value(), r.goOn())));
      rows.add(RowFactory.create(t.number, t.id(), scala.jdk.javaapi.CollectionConverters.asScala(t.params),
          t.status, t.error, scala.jdk.javaapi.CollectionConverters.asScala(rungs), t.best, t.validations, t.steps,
          t.plannedSteps, t.seconds, t.bestCheckpoint));
    }
    try (StagedOutput staged = StagedOutput.begin(new Path(out, "trials.parquet"), conf)) {
      spark.createDataFrame(rows, SCHEMA).coalesce(1).write().mode(SaveMode.Overwrite)
          .parquet(staged.staging().toString());
      JsonObject marker = new JsonObject();
      marker.addProperty("rows", rows.size());
      staged.commit(marker);
    }
  }

  private static void copyBest(Path checkpoint, Path target, int trial, Configuration conf) {
    try (StagedOutput staged = StagedOutput.begin(target, conf)) {
      FileSystem from = HadoopPaths.fs(checkpoint, conf);
      FileSystem to = HadoopPaths.fs(staged.staging(), conf);
      for (FileStatus f : from.listStatus(checkpoint)) {
        FileUtil.copy(from, f.getPath(), to, new Path(staged.staging(), f.getPath().getName()), false, conf);
      }
      JsonObject marker = new JsonObject();
      marker.addProperty("trial", trial);
      marker.addProperty("checkpoint", checkpoint.toString());
      staged.commit(marker);
    } catch (IOException e) {
      throw new TextSparkException("cannot copy the best checkpoint " + checkpoint + " to " + target + ": "
          + e.getMessage(), e);
    }
  }

  /** The trials as a console table: number, status, best value, steps, seconds, settings. */
  static String table(TuneJob.Result r) {
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-6s %-10s %10s %7s  %s%n", "trial", "status",
        r.monitor(), "steps", "settings"));
    for (TuneJob.TrialView t : r.trials()) {
      s.append(String.format(Locale.ROOT, "%-6d %-10s %10.4f %7d  %s%n", t.number(), t.status(), t.best(), t.steps(),
          t.params()));
    }
    return s.toString().stripTrailing();
  }

  static String report(List<Trial> trials, TuneJob.Result r) {
    HtmlReport html = new HtmlReport("textspark tune");
    html.heading("Hyper-parameter search");
    html.paragraph(String.format(Locale.ROOT, "%d trials, %.0f s; best: %s", trials.size(), r.seconds(),
        r.best() == null ? "none" : String.format(Locale.ROOT, "trial %d, %s %.4f", r.best().number(), r.monitor(),
            r.best().best())));
    List<List<String>> rows = new ArrayList<>();
    Set<String> keys = new LinkedHashSet<>();
    trials.forEach(t -> keys.addAll(t.params.keySet()));
    List<String> header = new ArrayList<>(List.of("trial", "status", r.monitor(), "steps", "seconds"));
    header.addAll(keys);
    header.add("error");
    rows.add(header);
    for (Trial t : trials) {
      List<String> row = new ArrayList<>(List.of(Integer.toString(t.number), t.status,
          String.format(Locale.ROOT, "%.4f", t.best), Long.toString(t.steps),
          String.format(Locale.ROOT, "%.1f", t.seconds)));
      keys.forEach(k -> row.add(t.params.getOrDefault(k, "")));
      row.add(t.error);
      rows.add(row);
    }
    html.table(rows);
    html.heading(r.monitor() + " against each setting");
    for (String key : keys) {
      List<String> categories = categories(trials, key);
      html.svg(Svg.scatterChart(key, key, r.monitor(), byStatus(trials, key, categories)));
      if (!categories.isEmpty()) {
        List<String> legend = new ArrayList<>();
        for (int i = 0; i < categories.size(); i++) {
          legend.add(i + " = " + categories.get(i));
        }
        html.paragraph(key + " on the x axis: " + String.join(", ", legend));
      }
    }
    html.heading("Validation curves");
    List<Svg.Series> curves = new ArrayList<>();
    for (Trial t : trials) {
      double[] x = new double[t.curve.size()];
      double[] y = new double[t.curve.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = t.curve.get(i)[0];
        y[i] = t.curve.get(i)[1];
      }
      curves.add(new Svg.Series("#" + t.number + " " + t.status, x, y));
    }
    html.svg(Svg.lineChart(r.monitor() + " per validation", "step", r.monitor(), curves));
    return html.html();
  }

  /**
   * The values of a non-numeric setting (such as {@code model.name}) in the order trials first took
   * them, each plotted at its position; empty when every value is a number, plotted as itself.
   */
  private static List<String> categories(List<Trial> trials, String key) {
    List<String> levels = new ArrayList<>();
    boolean numeric = true;
    for (Trial t : trials) {
      String v = t.params.get(key);
      if (v != null && !levels.contains(v)) {
        levels.add(v);
        try {
          Double.parseDouble(v);
        } catch (NumberFormatException e) {
          numeric = false;
        }
      }
    }
    return numeric ? List.of() : levels;
  }

  /** One series per status of (setting, best value); a setting with {@code categories} at its value's position. */
  private static List<Svg.Series> byStatus(List<Trial> trials, String key, List<String> categories) {
    List<Svg.Series> out = new ArrayList<>();
    for (String status : List.of(Trial.COMPLETED, Trial.STOPPED, Trial.FAILED, Trial.RUNNING)) {
      List<double[]> pts = new ArrayList<>();
      for (Trial t : trials) {
        String v = t.params.get(key);
        if (t.status.equals(status) && v != null) {
          double x = categories.isEmpty() ? Double.parseDouble(v) : categories.indexOf(v);
          pts.add(new double[] {x, t.best});
        }
      }
      if (!pts.isEmpty()) {
        out.add(new Svg.Series(status, pts.stream().mapToDouble(p -> p[0]).toArray(),
            pts.stream().mapToDouble(p -> p[1]).toArray()));
      }
    }
    return out;
  }
}
