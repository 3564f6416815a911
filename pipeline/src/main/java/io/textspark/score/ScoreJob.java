package io.textspark.score;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.when;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.DefaultModel;
import io.textspark.config.ConfigError;
import io.textspark.config.ModelConfig;
import io.textspark.config.ScoreConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.inference.BatchScorer;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code score} command: classifies the text column of a table with a checkpoint and writes
 * the same rows with prediction columns as Parquet. Everything that can be checked is checked
 * before any task runs (input, text column, output, model); the output is written into a hidden
 * staging folder and renamed into place with a {@code _textspark.json} marker, so a failed run
 * leaves nothing behind.
 */
public final class ScoreJob {
  /**
   * What a run wrote.
   *
   * @param output the committed output folder
   * @param rows rows written
   * @param scored rows with a prediction
   * @param nullText rows whose text was null
   * @param failed rows whose text could not be tokenized
   * @param truncated rows whose text was truncated to {@code maxLength}
   * @param empty rows whose text was empty or blank (scored)
   * @param maxLength the maximum length used
   * @param seconds wall-clock time of the run
   * @param timings rows and time summed over tasks
   */
  public record Report(Path output, long rows, long scored, long nullText, long failed, long truncated, long empty,
      int maxLength, double seconds, ScoringPlan.Timings timings) {}

  private ScoreJob() {}

  /** Runs the command with the {@code score} section of {@code config}; prints a summary to {@code out}. */
  public static Report run(SparkSession spark, TextSparkConfig config, PrintStream out) {
    return run(spark, config, config.score(), out);
  }

  /**
   * Runs the command with the settings {@code s} in place of {@code config.score()} (the benchmark
   * points it at its own tables); the other sections come from {@code config}.
   */
  public static Report run(SparkSession spark, TextSparkConfig config, ScoreConfig s, PrintStream out) {
    long started = System.nanoTime();
    if (s.input().isEmpty()) {
      throw new ConfigError("score.input", "", "give the table to score with --input (a Parquet folder or a"
          + " catalog table name)");
    }
    if (s.output().isEmpty()) {
      throw new ConfigError("score.output", "", "give the folder to write with --output");
    }
    Configuration conf = config.hadoop().applyTo(spark.sparkContext().hadoopConfiguration());
    InputTable input = InputTable.open(spark, s.input(), conf);
    Path target = HadoopPaths.qualify(new Path(s.output()), conf);
    if (input.path().isPresent() && overlaps(input.path().get(), target)) {
      throw new TextSparkException("the output " + target + " overlaps the input " + input.path().get()
          + "; write the scores to another folder (--output).");
    }
    if (HadoopPaths.exists(target, conf) && !s.overwrite()) {
      throw new TextSparkException("the output " + target + " already exists. Pass --overwrite (score.overwrite=true)"
          + " to replace it, or choose another --output.");
    }
    String reference = DefaultModel.reference(s.model(), config.train(), conf);
    TextClassifierModel model = transformer(s, reference, config.model());
    model.transformSchema(input.rows().schema());
    long preparing = System.nanoTime();
    ScoringPlan plan = model.prepare(spark);
    double prepareSeconds = (System.nanoTime() - preparing) / 1e9;
    Dataset<Row> rows = s.partitions() > 0 ? input.rows().repartition(s.partitions()) : input.rows();
    // The total for the progress lines; a Parquet count reads footers and row-group headers, not the text.
    long expected = s.progressEvery().isZero() ? -1 : input.rows().count();
    int tasks = rows.rdd().getNumPartitions();
    out.printf(Locale.ROOT, "score: %s (%s%d partitions), text column %s, model %s (labels %s, read and broadcast in"
            + " %.1f s), engine %s, max_length %d, batch %d%n", input,
        expected < 0 ? "" : String.format(Locale.ROOT, "%,d rows, ", expected), tasks,
        s.textCol(), plan.modelReference(), String.join(", ", plan.labels()), prepareSeconds, plan.engine().label(),
        plan.maxLength(), s.batchSize());
    // Folder partitioning (col=value/) is kept, so jobs reading the output prune it as they did the input.
    List<String> partitionBy = input.partitionColumns();
    if (!partitionBy.isEmpty()) {
      out.println("score: keeping the input's folder partitioning by " + String.join(", ", partitionBy));
    }
    ScoreConfig.Columns c = s.columns();
    long total;
    long errors;
    long nullText;
    long truncated;
    long empty;
    try (StagedOutput staged = StagedOutput.begin(target, conf)) {
      try (ScoreProgress progress = ScoreProgress.start(spark.sparkContext(), plan, Math.max(expected, 0),
          tasks, s.progressEvery(), out)) {
        plan.transform(rows).write().mode(SaveMode.Overwrite).partitionBy(partitionBy.toArray(new String[0]))
            .parquet(staged.staging().toString());
      } catch (Exception e) {
        // Spark wraps what a task threw (in a SparkException, checked in Java's eyes); surface the
        // explanation of a known failure, and keep anything else whole.
        for (Throwable t = e; t != null; t = t.getCause()) {
          if (t instanceof TextSparkException known) {
            throw new TextSparkException("scoring failed and nothing was written to " + target + ": "
                + known.getMessage(), e);
          }
        }
        if (e instanceof RuntimeException r) {
          throw r;
        }
        throw new IllegalStateException("scoring failed and nothing was written to " + target + ": " + e, e);
      }
      Row stats = spark.read().option("basePath", staged.staging().toString())
          .parquet(partFiles(staged.staging(), conf)).agg(
          count(lit(1)),
          count(col(c.error())),
          count(when(col(c.error()).equalTo(BatchScorer.NULL_TEXT), 1)),
          count(when(col(c.truncated()), 1)),
          count(when(col(c.error()).isNull().and(trim(col(s.textCol())).equalTo("")), 1))).first();
      total = stats.getLong(0);
      errors = stats.getLong(1);
      nullText = stats.getLong(2);
      truncated = stats.getLong(3);
      empty = stats.getLong(4);
      JsonObject marker = new JsonObject();
      marker.addProperty("stage", "score");
      marker.addProperty("input", input.toString());
      marker.addProperty("text_col", s.textCol());
      marker.addProperty("model", plan.modelReference());
      marker.addProperty("engine", plan.engine().label());
      JsonArray labels = new JsonArray();
      plan.labels().forEach(labels::add);
      marker.add("labels", labels);
      marker.addProperty("score_label", plan.labels().get(plan.scoreIndex()));
      marker.addProperty("max_length", plan.maxLength());
      JsonArray partitions = new JsonArray();
      partitionBy.forEach(partitions::add);
      marker.add("partition_by", partitions);
      marker.addProperty("rows", total);
      marker.addProperty("scored", total - errors);
      marker.addProperty("null_text", nullText);
      marker.addProperty("failed", errors - nullText);
      marker.addProperty("truncated", truncated);
      marker.addProperty("empty", empty);
      marker.addProperty("created", Instant.now().toString());
      staged.commit(marker);
    } finally {
      plan.release();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    ScoringPlan.Timings t = plan.timings();
    Report report = new Report(target, total, total - errors, nullText, errors - nullText, truncated, empty,
        plan.maxLength(), seconds, t);
    out.printf(Locale.ROOT, "score: wrote %s: %d rows, %d scored, %d null text, %d not tokenizable, %d truncated at %d"
            + " tokens, %d empty; %.1f s, %.1f rows/s%n", target, total, total - errors, nullText, errors - nullText,
        truncated, plan.maxLength(), empty, seconds, total / Math.max(seconds, 1e-9));
    if (t.rows() > 0) {
      out.printf(Locale.ROOT, "score: task time per row: tokenize %.3f ms, model %.3f ms, read and write %.3f ms;"
              + " model load %.2f s%n", 1e3 * t.tokenizeSeconds() / t.rows(), 1e3 * t.modelSeconds() / t.rows(),
          1e3 * t.otherSeconds() / t.rows(), t.loadSeconds());
    }
    return report;
  }

  /** The transformer the job runs, configured from the {@code score} and {@code model} sections. */
  public static TextClassifierModel transformer(ScoreConfig s, String reference, ModelConfig hub) {
    ScoreConfig.Columns c = s.columns();
    return new TextClassifierModel()
        .setModelPath(reference)
        .setHubEndpoint(hub.hubEndpoint())
        .setHubRevision(hub.revision())
        .setHubCacheDir(hub.cacheDir())
        .setInputCol(s.textCol())
        .setOutputCol(c.prediction())
        .setPredictionIndexCol(c.index())
        .setProbabilitiesCol(c.probabilities())
        .setScoreCol(c.score())
        .setErrorCol(c.error())
        .setTruncatedCol(c.truncated())
        .setScoreLabel(s.scoreLabel())
        .setBatchSize(s.batchSize())
        .setWindowBatches(s.windowBatches())
        .setMaxLength(s.maxLength())
        .setDevice(s.device())
        .setEngine(s.engine())
        .setThreads(s.threads());
  }

  /**
   * The Parquet files of a written folder (partition folders included), named one by one: Spark
   * warns about reading a hidden folder such as the staging one, but not about the files inside it.
   */
  private static String[] partFiles(Path folder, Configuration conf) {
    try {
      List<String> paths = new ArrayList<>();
      RemoteIterator<LocatedFileStatus> files = HadoopPaths.fs(folder, conf).listFiles(folder, true);
      while (files.hasNext()) {
        Path p = files.next().getPath();
        if (p.getName().startsWith("part-")) {
          paths.add(p.toString());
        }
      }
      if (paths.isEmpty()) {
        throw new IOException("no part files were written");
      }
      return paths.toArray(new String[0]);
    } catch (IOException e) {
      throw new TextSparkException("cannot list the scored files in " + folder + ": " + e.getMessage(), e);
    }
  }

  private static boolean overlaps(Path a, Path b) {
    String x = a.toUri().normalize().toString().replaceAll("/+$", "") + "/";
    String y = b.toUri().normalize().toString().replaceAll("/+$", "") + "/";
    return x.startsWith(y) || y.startsWith(x);
  }
}
