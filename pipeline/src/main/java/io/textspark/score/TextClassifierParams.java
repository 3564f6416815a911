package io.textspark.score;

import io.textspark.compute.Compute;
import io.textspark.inference.Engine;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;

/**
 * The Spark ML parameters of {@link TextClassifierModel}, with their documentation, defaults,
 * validators and getters (the setters, which return the transformer, are on it): columns, model,
 * Hub settings, batching, maximum length, threads, device and engine.
 */
public abstract class TextClassifierParams extends Transformer {
  private static final long serialVersionUID = 1L;

  private final String uid;
  final Param<String> inputCol;
  final Param<String> outputCol;
  final Param<String> predictionIndexCol;
  final Param<String> probabilitiesCol;
  final Param<String> scoreCol;
  final Param<String> errorCol;
  final Param<String> truncatedCol;
  final Param<String> scoreLabel;
  final Param<String> modelPath;
  final Param<String> hubEndpoint;
  final Param<String> hubRevision;
  final Param<String> hubCacheDir;
  final IntParam batchSize;
  final IntParam windowBatches;
  final IntParam maxLength;
  final IntParam threads;
  final Param<String> device;
  final Param<String> engine;

  /** The parameters with their defaults, for the stage {@code uid}. */
  protected TextClassifierParams(String uid) {
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
    threads = new IntParam(this, "threads", "PyTorch (ONNX Runtime) threads per task; 0: spark.task.cpus", ParamValidators.gtEq(0));
    device = new Param<>(this, "device", "auto (the task's GPU if any, else CPU), cpu or gpu",
        ParamValidators.inArray(Compute.DEVICES));
    engine = new Param<>(this, "engine", "auto (ONNX Runtime for an export folder with model.onnx, else PyTorch),"
        + " pytorch or onnxruntime", ParamValidators.inArray(Engine.NAMES));
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
    setDefault(engine, "auto");
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

  /** The engine parameter. */
  public Param<String> engine() {
    return engine;
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

  /** The PyTorch (ONNX Runtime) threads per task; 0 means {@code spark.task.cpus}. */
  public int getThreads() {
    return (Integer) getOrDefault(threads);
  }

  /** The device preference. */
  public String getDevice() {
    return getOrDefault(device);
  }

  /** The engine: {@code auto}, {@code pytorch} or {@code onnxruntime}. */
  public String getEngine() {
    return getOrDefault(engine);
  }
}
