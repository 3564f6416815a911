package io.textspark.score;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.ConfigLoader;
import io.textspark.config.ModelConfig;
import io.textspark.config.Settings;
import io.textspark.inference.Engine;
import io.textspark.inference.ResolvedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A Spark ML {@link org.apache.spark.ml.Transformer} that classifies the text in one string column
 * with a fine-tuned BERT checkpoint, or its ONNX export on ONNX Runtime ({@link #setEngine}), and adds the predicted label, its index, every label's probability, the
 * probability of one chosen label ({@code score}), an error reason and a truncation flag.
 *
 * <pre>{@code
 * TextClassifierModel cola = new TextClassifierModel()
 *     .setModelPath("runs/cola/checkpoints/epoch=3-step=804")
 *     .setInputCol("sentence");
 * Dataset<Row> scored = cola.transform(spark.read().parquet("sentences"));
 * }</pre>
 *
 * <p>Rows keep their columns (nested ones included), their partitions and their order. A null text
 * gets null predictions and a reason in the error column; text longer than {@code maxLength}
 * tokens is truncated as in training and flagged. The model is read on the driver, broadcast, and
 * built once per executor JVM (on ONNX Runtime: one session per executor JVM, with {@code
 * spark.task.cpus} intra-op threads); each partition is scored in length-sorted batches.
 *
 * <p>The transformer is {@link MLWritable} and readable with {@link #read()} or {@link #load}, alone
 * or inside a saved {@code PipelineModel}. It saves its parameters, not the weights: the model path
 * must still be readable when the saved transformer is used.
 */
public final class TextClassifierModel extends TextClassifierParams implements MLWritable {
  private static final long serialVersionUID = 1L;

  /** A transformer with a random uid and default parameters; set at least the model path. */
  public TextClassifierModel() {
    this("textClassifier_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
  }

  /** A transformer with the given uid (used by {@code copy} and by reading a saved one). */
  public TextClassifierModel(String uid) {
    super(uid);
  }

  /** Sets the string column with the text (default {@code text}). */
  public TextClassifierModel setInputCol(String value) {
    set(inputCol, value);
    return this;
  }

  /** Sets the column of the predicted label (default {@code prediction}). */
  public TextClassifierModel setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  /** Sets the column of the predicted label's index (default {@code prediction_index}). */
  public TextClassifierModel setPredictionIndexCol(String value) {
    set(predictionIndexCol, value);
    return this;
  }

  /** Sets the column of the label probabilities (default {@code probabilities}). */
  public TextClassifierModel setProbabilitiesCol(String value) {
    set(probabilitiesCol, value);
    return this;
  }

  /** Sets the column of the score label's probability (default {@code score}). */
  public TextClassifierModel setScoreCol(String value) {
    set(scoreCol, value);
    return this;
  }

  /** Sets the column of the reason a row has no prediction (default {@code score_error}). */
  public TextClassifierModel setErrorCol(String value) {
    set(errorCol, value);
    return this;
  }

  /** Sets the column of the truncation flag (default {@code score_truncated}). */
  public TextClassifierModel setTruncatedCol(String value) {
    set(truncatedCol, value);
    return this;
  }

  /** Sets the label whose probability is the score (default empty: the last label). */
  public TextClassifierModel setScoreLabel(String value) {
    set(scoreLabel, value);
    return this;
  }

  /** Sets the checkpoint folder, model folder or Hub name (required). */
  public TextClassifierModel setModelPath(String value) {
    set(modelPath, value);
    return this;
  }

  /** Sets the Hub base URL used for Hub names (default: {@code model.hub_endpoint} of the defaults). */
  public TextClassifierModel setHubEndpoint(String value) {
    set(hubEndpoint, value);
    return this;
  }

  /** Sets the Hub revision used for Hub names (default {@code main}). */
  public TextClassifierModel setHubRevision(String value) {
    set(hubRevision, value);
    return this;
  }

  /** Sets the local folder for Hub downloads (default: {@code model.cache_dir}'s default). */
  public TextClassifierModel setHubCacheDir(String value) {
    set(hubCacheDir, value);
    return this;
  }

  /** Sets the rows per model call (default 64). */
  public TextClassifierModel setBatchSize(int value) {
    set(batchSize, value);
    return this;
  }

  /** Sets the batches per length-sorted window (default 16). */
  public TextClassifierModel setWindowBatches(int value) {
    set(windowBatches, value);
    return this;
  }

  /** Sets the longest token sequence; 0 (default) uses the checkpoint's {@code tokenize.max_length}. */
  public TextClassifierModel setMaxLength(int value) {
    set(maxLength, value);
    return this;
  }

  /** Sets the PyTorch (ONNX Runtime) threads per task; 0 (default) uses {@code spark.task.cpus}. */
  public TextClassifierModel setThreads(int value) {
    set(threads, value);
    return this;
  }

  /** Sets the device: {@code auto} (default), {@code cpu} or {@code gpu}. */
  public TextClassifierModel setDevice(String value) {
    set(device, value == null ? null : value.toLowerCase(Locale.ROOT));
    return this;
  }

  /**
   * Sets the engine: {@code auto} (default: ONNX Runtime for an export folder holding {@code
   * model.onnx}, else PyTorch), {@code pytorch} or {@code onnxruntime}.
   */
  public TextClassifierModel setEngine(String value) {
    set(engine, value == null ? null : value.toLowerCase(Locale.ROOT));
    return this;
  }


  /** The output column names in a fixed order: label, index, probabilities, score, error, truncated. */
  public List<String> outputColumns() {
    return List.of(getOutputCol(), getPredictionIndexCol(), getProbabilitiesCol(), getScoreCol(), getErrorCol(),
        getTruncatedCol());
  }

  /**
   * The input schema plus the output columns; fails, naming the problem and the fix, when the
   * model path is unset, the text column is missing or not a string, or an output column name is
   * empty, repeated or already taken.
   */
  @Override
  public StructType transformSchema(StructType schema) {
    requireModelPath();
    String text = getInputCol();
    List<String> names = Arrays.asList(schema.fieldNames());
    if (!names.contains(text)) {
      throw new TextSparkException("the input has no column \"" + text + "\" to classify; its columns are "
          + describe(schema) + ". Set the text column (setInputCol, or --text-col / score.text_col) to one of them.");
    }
    StructField field = schema.apply(text);
    if (!field.dataType().equals(DataTypes.StringType)) {
      throw new TextSparkException("the text column \"" + text + "\" has type " + field.dataType().simpleString()
          + ", but a string column is needed. Choose a string column, or cast this one first (e.g."
          + " df.withColumn(\"" + text + "\", col(\"" + text + "\").cast(\"string\"))).");
    }
    List<String> outputs = outputColumns();
    Set<String> seen = new HashSet<>();
    for (String out : outputs) {
      if (out == null || out.isBlank()) {
        throw new TextSparkException("an output column name is empty (" + outputs + "); give every output column"
            + " a name.");
      }
      if (!seen.add(out.toLowerCase(Locale.ROOT))) {
        throw new TextSparkException("the output column name \"" + out + "\" is used twice (" + outputs
            + "); give every output column its own name.");
      }
      // Spark resolves column names ignoring case, so "Score" and "score" would collide too.
      String taken = names.stream().filter(out::equalsIgnoreCase).findFirst().orElse(null);
      if (taken != null) {
        throw new TextSparkException("the input already has a column \"" + taken + "\", which scoring would add."
            + " Drop or rename that column, or choose other output column names (score.*_col, or the"
            + " transformer's set...Col methods).");
      }
    }
    return schema
        .add(getOutputCol(), DataTypes.StringType, true)
        .add(getPredictionIndexCol(), DataTypes.IntegerType, true)
        .add(getProbabilitiesCol(), DataTypes.createArrayType(DataTypes.DoubleType, false), true)
        .add(getScoreCol(), DataTypes.DoubleType, true)
        .add(getErrorCol(), DataTypes.StringType, true)
        .add(getTruncatedCol(), DataTypes.BooleanType, false);
  }

  /** Scores {@code dataset}: loads and broadcasts the model now, scores lazily when the result is computed. */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    return prepare(dataset.sparkSession()).transform(dataset);
  }

  /**
   * Loads the model on the driver (verifying a checkpoint's manifest), resolves the engine, the
   * maximum length and the score label, and broadcasts the model: everything that can fail before
   * any task runs.
   */
  public ScoringPlan prepare(SparkSession spark) {
    String path = requireModelPath();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    ResolvedModel model = ResolvedModel.resolve(path, hubConfig(), Engine.parse(getEngine(), "engine"),
        getMaxLength(), conf);
    int scoreIndex = model.scoreIndex(getScoreLabel());
    return ScoringPlan.create(spark, copy(ParamMap.empty()), model.bundle(), model.labels(), model.maxLength(),
        scoreIndex);
  }

  private String requireModelPath() {
    String path = getModelPath();
    if (path == null || path.isBlank()) {
      throw new TextSparkException("the model path is not set: call setModelPath with a checkpoint folder of"
          + " `textspark train` (for example runs/cola/checkpoints/epoch=3-step=804).");
    }
    return path;
  }

  /** The Hub settings: this transformer's, where set, over the defaults of {@code conf/textspark.conf}. */
  ModelConfig hubConfig() {
    ModelConfig defaults = ModelConfig.from(new Settings(ConfigLoader.defaults(), "model"));
    return new ModelConfig(getModelPath(),
        getHubEndpoint().isEmpty() ? defaults.hubEndpoint() : getHubEndpoint(),
        getHubRevision().isEmpty() ? defaults.revision() : getHubRevision(),
        getHubCacheDir().isEmpty() ? defaults.cacheDir() : getHubCacheDir());
  }

  /** A copy with the same uid and parameters, plus {@code extra}. */
  @Override
  public TextClassifierModel copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** A writer that saves this transformer's parameters (a folder with a {@code metadata} file). */
  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  /** A reader for transformers saved with {@link #write()}. */
  public static MLReader<TextClassifierModel> read() {
    return new Reader();
  }

  /** Reads a transformer saved at {@code path}. */
  public static TextClassifierModel load(String path) {
    return read().load(path);
  }

  private static String describe(StructType schema) {
    List<String> columns = new ArrayList<>();
    for (StructField f : schema.fields()) {
      columns.add(f.name() + " (" + f.dataType().simpleString() + ")");
    }
    return columns.isEmpty() ? "(none)" : String.join(", ", columns);
  }

  /** The saved form: one JSON line, laid out like Spark's own so pipelines can find the class. */
  private String metadataJson(String sparkVersion) {
    JsonObject o = new JsonObject();
    o.addProperty("class", TextClassifierModel.class.getName());
    o.addProperty("timestamp", System.currentTimeMillis());
    o.addProperty("sparkVersion", sparkVersion);
    o.addProperty("uid", uid());
    o.add("paramMap", encode(true));
    o.add("defaultParamMap", encode(false));
    return o.toString();
  }

  /** The explicitly set values, or the defaults, by parameter name, each as the parameter's own JSON. */
  @SuppressWarnings("unchecked")
  private JsonObject encode(boolean explicitlySet) {
    JsonObject out = new JsonObject();
    for (Param<?> param : params()) {
      Param<Object> p = (Param<Object>) param;
      if (explicitlySet ? isSet(p) : hasDefault(p)) {
        Object value = explicitlySet ? get(p).get() : getDefault(p).get();
        out.add(p.name(), JsonParser.parseString(p.jsonEncode(value)));
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private void decode(JsonObject params, boolean defaults, String path) {
    for (Map.Entry<String, JsonElement> e : params.entrySet()) {
      if (!hasParam(e.getKey())) {
        throw new TextSparkException("the transformer saved at " + path + " has a parameter " + e.getKey()
            + " this version does not know; read it with the textspark version that saved it.");
      }
      Param<Object> p = getParam(e.getKey());
      Object value = p.jsonDecode(e.getValue().toString());
      if (defaults) {
        setDefault(p, value);
      } else {
        set(p, value);
      }
    }
  }

  /** Saves the parameters as {@code <path>/metadata}, one JSON line, on any Hadoop file system. */
  private static final class Writer extends MLWriter {
    private final TextClassifierModel instance;

    Writer(TextClassifierModel instance) {
      this.instance = instance;
    }

    @Override
    public void saveImpl(String path) {
      StructType schema = new StructType().add("value", DataTypes.StringType, false);
      sparkSession().createDataFrame(List.of(RowFactory.create(instance.metadataJson(sparkSession().version()))), schema)
          .coalesce(1).write().text(new Path(path, "metadata").toString());
    }
  }

  /** Reads what {@link Writer} saved. */
  private static final class Reader extends MLReader<TextClassifierModel> {
    @Override
    public TextClassifierModel load(String path) {
      String line;
      try {
        line = sparkSession().read().text(new Path(path, "metadata").toString()).first().getString(0);
      } catch (Exception e) {
        // Spark's AnalysisException is checked in Java's eyes, though the Scala API declares nothing.
        if (e instanceof AnalysisException || e instanceof NoSuchElementException) {
          throw new TextSparkException("no saved TextClassifierModel at " + path + " (its metadata folder is missing"
              + " or empty). Give the folder a transformer or a pipeline was saved to.", e);
        }
        throw e instanceof RuntimeException r ? r : new TextSparkException("cannot read " + path + ": " + e, e);
      }
      JsonObject o;
      try {
        o = JsonParser.parseString(line).getAsJsonObject();
      } catch (JsonParseException | IllegalStateException e) {
        throw new TextSparkException("the metadata at " + path + " is not valid JSON; save the transformer again.", e);
      }
      String className = o.has("class") ? o.get("class").getAsString() : "";
      if (!TextClassifierModel.class.getName().equals(className)) {
        throw new TextSparkException("the folder " + path + " holds a " + className + ", not a "
            + TextClassifierModel.class.getName() + "; read it with that class.");
      }
      TextClassifierModel model = new TextClassifierModel(o.get("uid").getAsString());
      if (o.has("defaultParamMap")) {
        model.decode(o.getAsJsonObject("defaultParamMap"), true, path);
      }
      model.decode(o.getAsJsonObject("paramMap"), false, path);
      return model;
    }
  }
}
