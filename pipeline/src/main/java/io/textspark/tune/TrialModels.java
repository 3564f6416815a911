package io.textspark.tune;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.batch.Examples;
import io.textspark.config.ModelConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.console.Console;
import io.textspark.data.DataLayout;
import io.textspark.data.TokenizeJob;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.model.PretrainedModel;
import io.textspark.model.Safetensors;
import io.textspark.text.TokenizerCache;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.collection.immutable.ArraySeq;
import scala.reflect.ClassTag;

/**
 * The models a tune's trials train: one per distinct {@code model} section of the trials'
 * configurations, loaded once on the driver (as {@code train} loads it). A model's training and
 * validation sets are the tokenized Parquet under {@code data.root} when its marker records the
 * model's tokenizer and {@code tokenize.max_length}; otherwise {@code raw/} tokenized in memory with
 * the model's tokenizer (the tokenize stage's transformation, nothing written). A model's sets and
 * weights are broadcast once, when its first single-worker trial starts, and freed by {@link #close}.
 */
final class TrialModels implements AutoCloseable {
  /** The columns training reads. */
  private static final StructType ROWS = new StructType()
      .add("idx", DataTypes.IntegerType, false).add("label", DataTypes.IntegerType, false)
      .add("domain", DataTypes.StringType, false)
      .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false);

  private final Map<ModelConfig, Model> models;

  private TrialModels(Map<ModelConfig, Model> models) {
    this.models = models;
  }

  /**
   * Loads the model of every configuration in {@code trials} (one per distinct {@code model}
   * section) and decides where its tokenized sets come from; refuses, before any training, a model
   * that cannot load or has fewer positions than {@code tokenize.max_length}.
   */
  static TrialModels load(List<TextSparkConfig> trials, Configuration conf) {
    Optional<JsonObject> disk = StagedOutput.marker(
        HadoopPaths.qualify(new DataLayout(trials.get(0).data().root()).tokenized(), conf), conf);
    Map<ModelConfig, Model> models = new LinkedHashMap<>();
    for (TextSparkConfig c : trials) {
      if (!models.containsKey(c.model())) {
        models.put(c.model(), Model.load(c, disk, conf));
      }
    }
    return new TrialModels(models);
  }

  /** The model trial configuration {@code c} trains. */
  Model of(TextSparkConfig c) {
    Model m = models.get(c.model());
    if (m == null) {
      throw new IllegalStateException("no model loaded for " + c.model() + "; the tune planned " + models.keySet());
    }
    return m;
  }

  /** Frees every model's broadcasts, on the driver and the executors. */
  @Override
  public void close() {
    models.values().forEach(Model::destroy);
  }

  /** One model of the tune; its driver threads share it, so its lazy parts are built under its lock. */
  static final class Model {
    private final TextSparkConfig config;
    private final PretrainedModel pretrained;
    private final JsonObject marker;
    private final boolean onDisk;
    private Examples train;
    private Examples validation;
    private Segment.Shared shared;

    private Model(TextSparkConfig config, PretrainedModel pretrained, JsonObject marker, boolean onDisk) {
      this.config = config;
      this.pretrained = pretrained;
      this.marker = marker;
      this.onDisk = onDisk;
    }

    private static Model load(TextSparkConfig c, Optional<JsonObject> disk, Configuration conf) {
      PretrainedModel p = PretrainedModel.load(c.model().name(), c.model(), conf);
      int maxLength = c.tokenize().maxLength();
      int positions = p.config().maxPositionEmbeddings();
      if (maxLength > positions) {
        throw new TextSparkException("tokenize.max_length is " + maxLength + " but the model " + p.reference()
            + " has only " + positions + " positions: set tokenize.max_length=" + positions + " (or less) for the"
            + " tune, and tokenize the data with it.");
      }
      boolean matches = disk.isPresent() && disk.get().has("tokenizer_sha256") && disk.get().has("max_length")
          && disk.get().get("tokenizer_sha256").getAsString().equals(p.tokenizerSha256())
          && disk.get().get("max_length").getAsInt() == maxLength;
      if (matches) {
        Console.info("tune: model %s trains on the tokenized data under %s", p.reference(), c.data().root());
        return new Model(c, p, disk.get(), true);
      }
      // A broken tokenizer.json fails here, on the driver, before any trial.
      TokenizerCache.get(p.tokenizerJson(), p.tokenizerSha256(), maxLength);
      JsonObject marker = new JsonObject();
      marker.addProperty("stage", "tune");
      marker.addProperty("model", c.model().name());
      marker.addProperty("tokenizer_sha256", p.tokenizerSha256());
      marker.addProperty("max_length", maxLength);
      marker.addProperty("raw_sha256", TokenizeJob.rawSha256(c, conf));
      Console.info("tune: model %s: the tokenized data under %s is %s; its trials train on raw/ tokenized in"
          + " memory with its own tokenizer (max_length %d)", p.reference(), c.data().root(), disk.isEmpty()
          ? "missing" : "for another tokenizer or max_length (made for "
          + (disk.get().has("model") ? disk.get().get("model").getAsString() : "another model") + ")", maxLength);
      return new Model(c, p, marker, false);
    }

    /** The pretrained model: architecture, weights and tokenizer. */
    PretrainedModel pretrained() {
      return pretrained;
    }

    /** The tokenized data's marker (or, for data tokenized in memory, one like it) for the trials' tracking. */
    JsonObject marker() {
      return marker;
    }

    /** Rows of the training set. */
    synchronized int trainRows(SparkSession spark) {
      loadSets(spark);
      return train.size();
    }

    /** The model's sets and weights broadcast for single-worker trials, broadcast by the first call. */
    synchronized Segment.Shared shared(SparkSession spark) {
      if (shared == null) {
        loadSets(spark);
        SparkContext sc = spark.sparkContext();
        ByteArrayOutputStream weights = new ByteArrayOutputStream();
        Safetensors.write(weights, pretrained.weights(), Map.of());
        shared = new Segment.Shared(sc.broadcast(train, ClassTag.apply(Examples.class)),
            sc.broadcast(validation, ClassTag.apply(Examples.class)),
            sc.broadcast(weights.toByteArray(), ClassTag.apply(byte[].class)), pretrained.config().toJson(),
            pretrained.tokenizerJson(), pretrained.reference());
      }
      return shared;
    }

    /**
     * The training set (split "train") or validation set as rows for a multi-worker trial's barrier
     * stage: the Parquet under {@code data.root}, or the rows tokenized in memory.
     */
    synchronized Dataset<Row> rows(SparkSession spark, String split) {
      if (onDisk) {
        return spark.read().parquet(new DataLayout(config.data().root()).tokenized(split).toString());
      }
      loadSets(spark);
      Examples set = split.equals("train") ? train : validation;
      List<Row> rows = new ArrayList<>(set.size());
      for (int i = 0; i < set.size(); i++) {
        rows.add(RowFactory.create(set.idx(i), set.label(i), set.domain(i), ArraySeq.unsafeWrapArray(set.ids(i))));
      }
      return spark.createDataFrame(rows, ROWS);
    }

    private void loadSets(SparkSession spark) {
      if (train != null) {
        return;
      }
      if (onDisk) {
        DataLayout layout = new DataLayout(config.data().root());
        train = collect(spark.read().parquet(layout.tokenized("train").toString()), "training set");
        validation = collect(spark.read().parquet(layout.tokenized("validation").toString()), "validation set");
        return;
      }
      Broadcast<byte[]> tokenizer =
          spark.sparkContext().broadcast(pretrained.tokenizerJson(), ClassTag.apply(byte[].class));
      try {
        String sha = pretrained.tokenizerSha256();
        train = collect(TokenizeJob.tokenize(spark, config, "train", tokenizer, sha), "training set");
        validation = collect(TokenizeJob.tokenize(spark, config, "validation", tokenizer, sha), "validation set");
      } finally {
        tokenizer.destroy();
      }
      Console.info("tune: tokenized %d training and %d validation rows in memory for %s", train.size(),
          validation.size(), pretrained.reference());
    }

    private static Examples collect(Dataset<Row> rows, String setName) {
      return Examples.fromRows(rows.select("idx", "label", "domain", "input_ids").toLocalIterator(), setName);
    }

    private synchronized void destroy() {
      if (shared != null) {
        shared.destroy();
        shared = null;
      }
    }
  }
}
