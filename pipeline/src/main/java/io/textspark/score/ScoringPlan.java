package io.textspark.score;

import io.textspark.inference.Engine;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.ModelBundle;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import scala.reflect.ClassTag;

/**
 * A {@link TextClassifierModel} with its model read and broadcast: applying it to a dataset adds
 * the prediction columns lazily, partition by partition. It also sums, over every task that
 * scored, the rows and where the time went, for the {@code score} job's report and the benchmark.
 */
public final class ScoringPlan {
  /**
   * Rows scored and time spent, summed over tasks (so with parallel tasks the seconds exceed the
   * wall-clock time).
   *
   * @param rows rows that went through the scorer, null text included
   * @param loadSeconds building the model from the broadcast (once per executor JVM)
   * @param tokenizeSeconds tokenizing
   * @param modelSeconds batching, padding and running the model
   * @param taskSeconds from a partition's start to its last row, so it also covers reading the
   *     input and writing the output
   */
  public record Timings(long rows, double loadSeconds, double tokenizeSeconds, double modelSeconds,
      double taskSeconds) {
    /** Task time outside model loading, tokenizing and the model: reading, converting and writing rows. */
    public double otherSeconds() {
      return Math.max(0, taskSeconds - loadSeconds - tokenizeSeconds - modelSeconds);
    }
  }

  private final TextClassifierModel params;
  private final Broadcast<ModelBundle> bundle;
  private final String key;
  private final String reference;
  private final Engine engine;
  private final List<String> labels;
  private final int maxLength;
  private final int scoreIndex;
  private final ScorePartition.Counters counters;

  private ScoringPlan(TextClassifierModel params, Broadcast<ModelBundle> bundle, String key, String reference,
      Engine engine, List<String> labels, int maxLength, int scoreIndex, ScorePartition.Counters counters) {
    this.params = params;
    this.bundle = bundle;
    this.key = key;
    this.reference = reference;
    this.engine = engine;
    this.labels = labels;
    this.maxLength = maxLength;
    this.scoreIndex = scoreIndex;
    this.counters = counters;
  }

  static ScoringPlan create(SparkSession spark, TextClassifierModel params, ModelBundle model, List<String> labels,
      int maxLength, int scoreIndex) {
    Broadcast<ModelBundle> bundle = spark.sparkContext().broadcast(model, ClassTag.apply(ModelBundle.class));
    ScorePartition.Counters counters = new ScorePartition.Counters(
        spark.sparkContext().longAccumulator("textspark.score.rows"),
        spark.sparkContext().longAccumulator("textspark.score.load_ns"),
        spark.sparkContext().longAccumulator("textspark.score.tokenize_ns"),
        spark.sparkContext().longAccumulator("textspark.score.model_ns"),
        spark.sparkContext().longAccumulator("textspark.score.task_ns"));
    return new ScoringPlan(params, bundle, model.key(), model.reference(), model.engine(), labels, maxLength,
        scoreIndex, counters);
  }

  /** The rows of {@code dataset} with the prediction columns added; computed when an action runs. */
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType output = params.transformSchema(dataset.schema());
    int textIndex = dataset.schema().fieldIndex(params.getInputCol());
    InferenceSettings inference = new InferenceSettings(maxLength, params.getBatchSize(), params.getDevice(),
        params.getThreads(), engine.label());
    ScorePartition fn = new ScorePartition(bundle, key, textIndex,
        new ScorePartition.Settings(inference, params.getWindowBatches(), scoreIndex), counters);
    return dataset.toDF().mapPartitions(fn, Encoders.row(output));
  }

  /** Rows and time so far, over every task that ran this plan. */
  public Timings timings() {
    return counters.timings();
  }

  /** Id of the accumulator every scoring task adds its rows to, as windows are scored (for progress). */
  long rowsAccumulatorId() {
    return counters.rows().id();
  }

  /** Id of the accumulator every scoring task adds its time to when it ends, even with no rows. */
  long taskAccumulatorId() {
    return counters.taskNanos().id();
  }

  /** The engine the tasks run the model on: {@link Engine#PYTORCH} or {@link Engine#ONNXRUNTIME}. */
  public Engine engine() {
    return engine;
  }

  /** The model's labels by index. */
  public List<String> labels() {
    return labels;
  }

  /** The maximum length text is truncated to. */
  public int maxLength() {
    return maxLength;
  }

  /** The index of the label whose probability is the score. */
  public int scoreIndex() {
    return scoreIndex;
  }

  /** Where the model came from (a checkpoint is named by its folder). */
  public String modelReference() {
    return reference;
  }

  /** Frees the broadcast model on the executors; call once no dataset from this plan will be computed again. */
  public void release() {
    bundle.destroy();
  }
}
