package io.textspark.train;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.batch.Examples;
import io.textspark.collective.Collective;
import io.textspark.compute.Compute;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import io.textspark.data.DataLayout;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.metrics.MetricsFormat;
import io.textspark.metrics.MetricsSink;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.PretrainedModel;
import io.textspark.tracking.RunDescription;
import io.textspark.tracking.TrackingSinks;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code train} command: checks everything that can be checked before training (data, model,
 * tokenizer match, labels, output location, task slots), then fine-tunes with {@link Trainer}: on
 * the driver with {@code train.workers = 1}, or in one barrier stage of N workers with
 * {@link DistributedTraining}.
 */
public final class TrainJob {
  private TrainJob() {}

  /**
   * Runs the command; returns the run's summary. {@code listeners} observe a single-worker run; a
   * multi-worker run trains in executors, where they cannot reach, so it accepts none.
   */
  public static Trainer.Summary run(SparkSession spark, TextSparkConfig config, List<Trainer.Listener> listeners) {
    TrainConfig cfg = config.train();
    Configuration conf = config.hadoop().applyTo(spark.sparkContext().hadoopConfiguration());
    Path outputDir = HadoopPaths.qualify(new Path(cfg.outputDir()), conf);
    // A resume with nothing left to train says so in one line and writes nothing, before any check
    // that would need the cluster or the data.
    Optional<Trainer.Summary> finished = Resumption.alreadyFinished(cfg, outputDir, conf);
    if (finished.isPresent()) {
      return finished.get();
    }
    if (cfg.workers() > 1) {
      if (!listeners.isEmpty()) {
        throw new IllegalArgumentException("listeners only observe train.workers = 1");
      }
      DistributedTraining.checkCluster(spark.sparkContext(), cfg.workers(), DistributedTraining.SLOT_WAIT);
    }
    DataLayout layout = new DataLayout(config.data().root());
    PretrainedModel pretrained = checkedModel(config, conf);
    ClassifierConfig modelConfig = pretrained.config();
    if (!cfg.fastDevRun()) {
      probeWritable(outputDir, conf);
    }

    Dataset<Row> trainRows = spark.read().parquet(layout.tokenized("train").toString());
    Dataset<Row> validationRows = spark.read().parquet(layout.tokenized("validation").toString());
    MetricsSink.Factory sinks = TrackingSinks.of(config.tracking(),
        describe(config, spark.sparkContext().applicationId(), tokenizedMarker(config, conf), pretrained, outputDir));
    Trainer.Summary summary;
    if (cfg.workers() > 1) {
      Console.info("train: model %s (%s), output %s", pretrained.reference(),
          modelConfig.describe(), outputDir);
      summary = DistributedTraining.run(spark, config, pretrained, trainRows, validationRows, outputDir, sinks);
    } else {
      summary = trainOnDriver(config, pretrained, trainRows, validationRows, outputDir, conf, listeners, sinks);
    }
    Console.info("train: finished in " + String.format(Locale.ROOT, "%.1f", summary.seconds()) + " s; best"
        + " checkpoint " + (summary.bestCheckpoint().isEmpty() ? "(none written)" : summary.bestCheckpoint()));
    Console.info("train: best " + MetricsFormat.line(summary.bestMetrics()));
    Console.info(summary.toJson().toString());
    return summary;
  }

  /**
   * Loads the pretrained model of {@code config} after checking that the tokenized data under
   * {@code data.root} exists and was made with its tokenizer and fits its positions (the tuner, which
   * tokenizes in memory for a model the data was not made for, checks each of its models itself).
   */
  public static PretrainedModel checkedModel(TextSparkConfig config, Configuration conf) {
    Path tokenized = HadoopPaths.qualify(new DataLayout(config.data().root()).tokenized(), conf);
    JsonObject marker = tokenizedMarker(config, conf);

    PretrainedModel pretrained = PretrainedModel.load(config.model().name(), config.model(), conf);
    String dataTokenizer = marker.get("tokenizer_sha256").getAsString();
    if (!dataTokenizer.equals(pretrained.tokenizerSha256())) {
      throw new TextSparkException("the tokenized data at " + tokenized + " was made with another tokenizer ("
          + marker.get("model").getAsString() + ", SHA-256 " + dataTokenizer.substring(0, 12) + "...) than the model "
          + pretrained.reference() + " uses (" + pretrained.tokenizerSha256().substring(0, 12) + "...). Run"
          + " `textspark tokenize --overwrite model.name=" + config.model().name() + "` first.");
    }
    int maxLength = marker.get("max_length").getAsInt();
    ClassifierConfig modelConfig = pretrained.config();
    if (maxLength > modelConfig.maxPositionEmbeddings()) {
      throw new TextSparkException("the data was tokenized with max_length " + maxLength + " but the model has only "
          + modelConfig.maxPositionEmbeddings() + " positions. Re-run tokenize with tokenize.max_length="
          + modelConfig.maxPositionEmbeddings() + " --overwrite.");
    }
    return pretrained;
  }

  /** The marker of the tokenized data under {@code data.root}, or a clear error when there is none. */
  public static JsonObject tokenizedMarker(TextSparkConfig config, Configuration conf) {
    Path tokenized = HadoopPaths.qualify(new DataLayout(config.data().root()).tokenized(), conf);
    return StagedOutput.marker(tokenized, conf).orElseThrow(() -> new TextSparkException(
        "no tokenized data at " + tokenized + ": run `textspark download` and `textspark tokenize` first (with the"
            + " same data.root)."));
  }

  /** A single worker: collects the (small) data to the driver and trains there. */
  private static Trainer.Summary trainOnDriver(TextSparkConfig config, PretrainedModel pretrained,
      Dataset<Row> trainRows, Dataset<Row> validationRows, Path outputDir, Configuration conf,
      List<Trainer.Listener> listeners, MetricsSink.Factory sinks) {
    TrainConfig cfg = config.train();
    ClassifierConfig modelConfig = pretrained.config();
    Examples train = Examples.fromRows(trainRows.toLocalIterator(), "training set");
    Examples validation = Examples.fromRows(validationRows.toLocalIterator(), "validation set");
    int threads = Compute.threads(cfg.threads());
    Compute.useThreads(threads);
    Console.info("train: model %s (%s), %d PyTorch threads, output %s",
        pretrained.reference(), modelConfig.describe(), threads, outputDir);

    TrainInputs inputs = new TrainInputs(train, validation, modelConfig, pretrained.weights(),
        pretrained.tokenizerJson(), pretrained.reference(), config.renderedJson(), outputDir, conf);
    return Trainer.fit(cfg, inputs, Collective.single(), listeners, null, sinks);
  }

  /**
   * What the run tells an experiment tracker: the resolved configuration as parameters, and as tags
   * the checksums of its data and tokenizer, the textspark version and the Spark application.
   */
  public static RunDescription describe(TextSparkConfig config, String applicationId, JsonObject marker,
      PretrainedModel pretrained, Path outputDir) {
    Map<String, String> tags = new LinkedHashMap<>();
    tags.put("mlflow.source.name", "textspark train");
    tags.put("mlflow.source.type", "JOB");
    String version = TrainJob.class.getPackage().getImplementationVersion();
    tags.put("textspark.version", version == null ? "dev" : version);
    tags.put("textspark.spark.application_id", applicationId);
    tags.put("textspark.model", pretrained.reference());
    tags.put("textspark.model.tokenizer_sha256", pretrained.tokenizerSha256());
    tags.put("textspark.data.raw_sha256", marker.has("raw_sha256") ? marker.get("raw_sha256").getAsString() : "");
    tags.put("textspark.data.tokenizer_sha256", marker.get("tokenizer_sha256").getAsString());
    tags.put("textspark.output_dir", outputDir.toString());
    return new RunDescription(outputDir.getName(), tags, RunDescription.flatten(config.renderedJson()));
  }

  /** Fails before training when checkpoints could not be written, naming the folder. */
  private static void probeWritable(Path outputDir, Configuration conf) {
    Path checkpoints = new Path(outputDir, "checkpoints");
    try {
      FileSystem fs = HadoopPaths.fs(checkpoints, conf);
      if (!fs.mkdirs(checkpoints)) {
        throw new IOException("mkdirs returned false");
      }
      Path probe = new Path(checkpoints, "._probe-" + java.util.UUID.randomUUID());
      fs.create(probe, false).close();
      fs.delete(probe, false);
    } catch (IOException | RuntimeException e) {
      throw new TextSparkException("train.output_dir " + outputDir + " is not writable (" + e.getMessage()
          + "): checkpoints could not be saved. Choose a folder you can write to.", e);
    }
  }
}
