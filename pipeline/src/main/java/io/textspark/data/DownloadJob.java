package io.textspark.data;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.config.DataConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.console.Console;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code download} stage: fetches the CoLA zip, checks it, and commits
 * {@code raw/{train,validation,rejects}} Parquet under {@code data.root} in one step.
 */
public final class DownloadJob {
  /** What a run did. */
  public record Report(boolean skipped, String sha256, long train, long validation, long rejects, Path output) {}

  private DownloadJob() {}

  /** Runs the stage. */
  public static Report run(SparkSession spark, TextSparkConfig config) {
    DataConfig data = config.data();
    Configuration conf = config.hadoop().applyTo(spark.sparkContext().hadoopConfiguration());
    DataLayout layout = new DataLayout(data.root());
    Path target = HadoopPaths.qualify(layout.raw(), conf);

    // Fail on an unwritable location before spending time on the download.
    try (StagedOutput out = StagedOutput.begin(target, conf)) {
      Optional<JsonObject> committed = StagedOutput.marker(target, conf);
      if (committed.isPresent() && !data.overwrite() && !data.sha256().isEmpty()
          && data.sha256().equals(committed.get().get("sha256").getAsString())) {
        Console.info("download: " + target + " is up to date (SHA-256 " + data.sha256()
            + " as data.sha256 asks); nothing to do. Pass --overwrite to rebuild it.");
        return skipped(committed.get(), target);
      }
      java.nio.file.Path tmpDir = Files.createTempDirectory("textspark-download");
      try {
        java.nio.file.Path zip = tmpDir.resolve("cola.zip");
        Console.info("download: fetching " + data.url());
        Download.Result fetched = Download.fetch(
            data.url(), zip, data.timeout(), conf, Download.console("download"),
            "The URL comes from data.url (or $COLA_URL).");
        if (!data.sha256().isEmpty() && !data.sha256().equals(fetched.sha256())) {
          throw new TextSparkException(
              "checksum mismatch for " + data.url() + ": expected SHA-256 " + data.sha256() + " (data.sha256) but the"
                  + " file has " + fetched.sha256() + " (" + fetched.bytes() + " bytes). The download is corrupt or"
                  + " not the file you meant: check data.url, or correct data.sha256.");
        }
        Optional<JsonObject> previous = StagedOutput.marker(target, conf);
        if (previous.isPresent() && !data.overwrite()) {
          String had = previous.get().has("sha256") ? previous.get().get("sha256").getAsString() : "";
          if (had.equals(fetched.sha256())) {
            Console.info("download: " + target + " is up to date (same zip, SHA-256 " + fetched.sha256()
                + "); nothing to do. Pass --overwrite to rebuild it.");
            return skipped(previous.get(), target);
          }
          throw new TextSparkException(
              target + " already holds data from another zip (SHA-256 " + had + ", now " + fetched.sha256()
                  + "). Pass --overwrite (data.overwrite=true) to replace it, or choose another data.root.");
        }
        ColaArchive.Parsed parsed = ColaArchive.read(zip, data.url());
        checkRejects(parsed, data.maxRejectFraction(), target);

        write(spark, rawRows(parsed.train()), ColaSchemas.RAW, new Path(out.staging(), "train"));
        write(spark, rawRows(parsed.validation()), ColaSchemas.RAW, new Path(out.staging(), "validation"));
        write(spark, rejectRows(parsed.rejects()), ColaSchemas.REJECTS, new Path(out.staging(), "rejects"));

        JsonObject marker = new JsonObject();
        marker.addProperty("stage", "download");
        marker.addProperty("url", data.url());
        marker.addProperty("sha256", fetched.sha256());
        marker.addProperty("bytes", fetched.bytes());
        marker.addProperty("train", parsed.train().size());
        marker.addProperty("validation", parsed.validation().size());
        marker.addProperty("rejects", parsed.rejects().size());
        marker.addProperty("created", Instant.now().toString());
        out.commit(marker);
        Console.info("download: wrote %s (train %d rows, validation %d rows, %d rejected lines)",
            target, parsed.train().size(), parsed.validation().size(), parsed.rejects().size());
        return new Report(false, fetched.sha256(), parsed.train().size(), parsed.validation().size(),
            parsed.rejects().size(), target);
      } finally {
        deleteLocal(tmpDir);
      }
    } catch (IOException e) {
      throw new TextSparkException("download failed: " + e.getMessage(), e);
    }
  }

  private static Report skipped(JsonObject marker, Path target) {
    return new Report(true, marker.get("sha256").getAsString(), count(marker, "train"),
        count(marker, "validation"), count(marker, "rejects"), target);
  }

  private static long count(JsonObject marker, String key) {
    return marker.has(key) ? marker.get(key).getAsLong() : -1;
  }

  private static void checkRejects(ColaArchive.Parsed parsed, double maxFraction, Path target) {
    int rejected = parsed.rejects().size();
    double fraction = parsed.totalLines() == 0 ? 1.0 : (double) rejected / parsed.totalLines();
    if (rejected > 0) {
      Console.info("download: %d of %d lines rejected (%.2f%%); first: %s line %d: %s",
          rejected, parsed.totalLines(), 100 * fraction, parsed.rejects().get(0).file(),
          parsed.rejects().get(0).line(), parsed.rejects().get(0).reason());
    }
    if (parsed.train().isEmpty() || parsed.validation().isEmpty() || fraction > maxFraction) {
      ColaArchive.Reject first = rejected > 0 ? parsed.rejects().get(0) : null;
      throw new TextSparkException(String.format(Locale.ROOT,
          "too many malformed rows in the CoLA TSVs: %d of %d lines (%.2f%%) were rejected, more than"
              + " data.max_reject_fraction = %s%s. Nothing was written to %s. Check that data.url serves"
              + " the original cola_public_1.1.zip, or raise data.max_reject_fraction to accept them.",
          rejected, parsed.totalLines(), 100 * fraction, maxFraction,
          first == null ? "" : " (first: " + first.file() + " line " + first.line() + ": " + first.reason() + ")",
          target));
    }
  }

  private static List<Row> rawRows(List<ColaArchive.Row> rows) {
    List<Row> out = new ArrayList<>(rows.size());
    for (ColaArchive.Row r : rows) {
      out.add(RowFactory.create(r.idx(), r.source(), r.label(), r.originalMark(), r.sentence(), r.domain()));
    }
    return out;
  }

  private static List<Row> rejectRows(List<ColaArchive.Reject> rejects) {
    List<Row> out = new ArrayList<>(rejects.size());
    for (ColaArchive.Reject r : rejects) {
      out.add(RowFactory.create(r.split(), r.file(), r.line(), r.reason(), r.text()));
    }
    return out;
  }

  private static void write(SparkSession spark, List<Row> rows, StructType schema, Path path) {
    // Slices of a few thousand rows keep each task small; the files are few for CoLA's size.
    int slices = Math.max(1, Math.min(8, rows.size() / 2000));
    JavaRDD<Row> rdd = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, slices);
    Dataset<Row> df = spark.createDataFrame(rdd, schema);
    df.write().mode(SaveMode.ErrorIfExists).parquet(path.toString());
  }

  private static void deleteLocal(java.nio.file.Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      Console.warn("warning: could not delete " + dir + ": " + e.getMessage());
    }
  }
}
