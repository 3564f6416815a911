package io.textspark.score;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.ConfigLoader;
import io.textspark.config.ModelConfig;
import io.textspark.config.Settings;
import io.textspark.compute.Compute;
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
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
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
 * A Spark ML {@link Transformer} that classifies the text in one string column with a fine-tuned
 * BERT checkpoint and adds the predicted label, its index, every label's probability, the
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
 * built once per executor JVM; each partition is scored in length-sorted batches.
 *
 * <p>The transformer is {@link MLWritable} and readable with {@link #read()} or {@link #load}, alone
 * or inside a saved {@code PipelineModel}. It saves its parameters, not the weights: the model path
 * must still be readable when the saved transformer is used.
 */
public final class TextClassifierModel extends Transformer implements MLWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> inputCol;
  private final Param<String> outputCol;
  private final Param<String> predictionIndexCol;
  private final Param<String> probabilitiesCol;
  private final Param<String> scoreCol;
  private final Param<String> errorCol;
  private final Param<String> truncatedCol;
  private final Param<String> scoreLabel;
  private final Param<String> modelPath;
  private final Param<String> hubEndpoint;
  private final Param<String> hubRevision;
  private final Param<String> hubCacheDir;
  private final IntParam batchSize;
  private final IntParam windowBatches;
  private final IntParam maxLength;
  private final IntParam threads;
  private final Param<String> device;

  /** A transformer with a random uid and default parameters; set at least the model path. */
  public TextClassifierModel() {
    this("textClassifier_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
  }

  /** A transformer with the given uid (used by {@code copy} and by reading a saved one). */
  public TextClassifierModel(String uid) {
    this.uid = uid;
    inputCol = new Param<>(this, "inputCol", "string column with the text to classify");
    outputCol = new Param<>(this, "outputCol", "output column with the predicted label");
    predictionIndexCol = new Param<>(this, "predictionIndexCol", "output column with the predicted label's index");
    probabilitiesCol = new Param<>(this, "probabilitiesCol",
        "output column with every label's probability, array<double> in label order");
    scoreCol = new Param<>(this, "scoreCol", "output column with the probability of scoreLabel");
    errorCol = new Param<>(this, "errorCol", "output column with the reason a row has no prediction, null when scored");
    truncatedCol = new Param<>(this, "truncatedCol", "output column, true when the text was truncated to maxLength");
    scoreLabel = new Param<>(this, "scoreLabel", "label whose probability goes into scoreCol; empty: the last label");
    modelPath = new Param<>(this, "modelPath",
        "checkpoint folder (any Hadoop file system), model folder or Hugging Face Hub name");
    hubEndpoint = new Param<>(this, "hubEndpoint", "Hub base URL for Hub names; empty: model.hub_endpoint's default");
    hubRevision = new Param<>(this, "hubRevision", "Hub revision for Hub names; empty: model.revision's default");
    hubCacheDir = new Param<>(this, "hubCacheDir", "local folder for Hub downloads; empty: model.cache_dir's default");
    batchSize = new IntParam(this, "batchSize", "rows per model call (>= 1)", ParamValidators.gtEq(1));
    windowBatches = new IntParam(this, "windowBatches",
        "batches per window whose rows are sorted by length (>= 1)", ParamValidators.gtEq(1));
    maxLength = new IntParam(this, "maxLength",
        "longest token sequence, [CLS] and [SEP] included; 0: the checkpoint's tokenize.max_length",
        ParamValidators.inRange(0, 512));
    threads = new IntParam(this, "threads", "PyTorch threads per task; 0: spark.task.cpus", ParamValidators.gtEq(0));
    device = new Param<>(this, "device", "auto (the task's GPU if any, else CPU), cpu or gpu",
        ParamValidators.inArray(Compute.DEVICES));
    setDefault(inputCol, "text");
    setDefault(outputCol, "prediction");
    setDefault(predictionIndexCol, "prediction_index");
    setDefault(probabilitiesCol, "probabilities");
    setDefault(scoreCol, "score");
    setDefault(errorCol, "score_error");
    setDefault(truncatedCol, "score_truncated");
    setDefault(scoreLabel, "");
    setDefault(hubEndpoint, "");
    setDefault(hubRevision, "");
    setDefault(hubCacheDir, "");
    setDefault(batchSize, 64);
    setDefault(windowBatches, 16);
    setDefault(maxLength, 0);
    setDefault(threads, 0);
    setDefault(device, "auto");
  }

  /** This stage's unique id. */
  @Override
  public String uid() {
    return uid;
  }

  /** The text column parameter. */
  public Param<String> inputCol() {
    return inputCol;
  }

  /** The predicted-label column parameter. */
  public Param<String> outputCol() {
    return outputCol;
  }

  /** The predicted-index column parameter. */
  public Param<String> predictionIndexCol() {
    return predictionIndexCol;
  }

  /** The probabilities column parameter. */
  public Param<String> probabilitiesCol() {
    return probabilitiesCol;
  }

  /** The score column parameter. */
  public Param<String> scoreCol() {
    return scoreCol;
  }

  /** The error column parameter. */
  public Param<String> errorCol() {
    return errorCol;
  }

  /** The truncation-flag column parameter. */
  public Param<String> truncatedCol() {
    return truncatedCol;
  }

  /** The score label parameter. */
  public Param<String> scoreLabel() {
    return scoreLabel;
  }

  /** The model path parameter. */
  public Param<String> modelPath() {
    return modelPath;
  }

  /** The Hub endpoint parameter. */
  public Param<String> hubEndpoint() {
    return hubEndpoint;
  }

  /** The Hub revision parameter. */
  public Param<String> hubRevision() {
    return hubRevision;
  }

  /** The Hub cache folder parameter. */
  public Param<String> hubCacheDir() {
    return hubCacheDir;
  }

  /** The batch size parameter. */
  public IntParam batchSize() {
    return batchSize;
  }

  /** The sorting window parameter. */
  public IntParam windowBatches() {
    return windowBatches;
  }

  /** The maximum length parameter. */
  public IntParam maxLength() {
    return maxLength;
  }

  /** The threads parameter. */
  public IntParam threads() {
    return threads;
  }

  /** The device parameter. */
  public Param<String> device() {
    return device;
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

  /** Sets the PyTorch threads per task; 0 (default) uses {@code spark.task.cpus}. */
  public TextClassifierModel setThreads(int value) {
    set(threads, value);
    return this;
  }

  /** Sets the device: {@code auto} (default), {@code cpu} or {@code gpu}. */
  public TextClassifierModel setDevice(String value) {
    set(device, value == null ? null : value.toLowerCase(Locale.ROOT));
    return this;
  }

  /** The text column. */
  public String getInputCol() {
    return getOrDefault(inputCol);
  }

  /** The predicted-label column. */
  public String getOutputCol() {
    return getOrDefault(outputCol);
  }

  /** The predicted-index column. */
  public String getPredictionIndexCol() {
    return getOrDefault(predictionIndexCol);
  }

  /** The probabilities column. */
  public String getProbabilitiesCol() {
    return getOrDefault(probabilitiesCol);
  }

  /** The score column. */
  public String getScoreCol() {
    return getOrDefault(scoreCol);
  }

  /** The error column. */
  public String getErrorCol() {
    return getOrDefault(errorCol);
  }

  /** The truncation-flag column. */
  public String getTruncatedCol() {
    return getOrDefault(truncatedCol);
  }

  /** The score label; empty means the last label. */
  public String getScoreLabel() {
    return getOrDefault(scoreLabel);
  }

  /** The model reference, or null when not set. */
  public String getModelPath() {
    return isDefined(modelPath) ? getOrDefault(modelPath) : null;
  }

  /** The Hub endpoint; empty means the default. */
  public String getHubEndpoint() {
    return getOrDefault(hubEndpoint);
  }

  /** The Hub revision; empty means the default. */
  public String getHubRevision() {
    return getOrDefault(hubRevision);
  }

  /** The Hub cache folder; empty means the default. */
  public String getHubCacheDir() {
    return getOrDefault(hubCacheDir);
  }

  /** The rows per model call. */
  public int getBatchSize() {
    return (Integer) getOrDefault(batchSize);
  }

  /** The batches per length-sorted window. */
  public int getWindowBatches() {
    return (Integer) getOrDefault(windowBatches);
  }

  /** The maximum length; 0 means the checkpoint's. */
  public int getMaxLength() {
    return (Integer) getOrDefault(maxLength);
  }

  /** The PyTorch threads per task; 0 means {@code spark.task.cpus}. */
  public int getThreads() {
    return (Integer) getOrDefault(threads);
  }

  /** The device preference. */
  public String getDevice() {
    return getOrDefault(device);
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
   * Loads the model on the driver (verifying a checkpoint's manifest), resolves the maximum length
   * and the score label, and broadcasts the model: everything that can fail before any task runs.
   */
  public ScoringPlan prepare(SparkSession spark) {
    String path = requireModelPath();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    ResolvedModel model = ResolvedModel.resolve(path, hubConfig(), getMaxLength(), conf);
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
    o.addProperty("uid", uid);
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
