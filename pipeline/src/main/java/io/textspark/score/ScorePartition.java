package io.textspark.score;

import io.textspark.inference.InferenceSettings;
import io.textspark.inference.ModelBundle;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.TaskCompletionListener;
import scala.collection.immutable.ArraySeq;

/**
 * Scores one partition: opens a {@link Predictor} on the executor's shared model, reads rows in
 * windows of {@code windowBatches * batchSize}, scores each window in length-sorted batches and
 * emits its rows in their original order with the prediction columns appended. Only one window is
 * held at a time.
 */
final class ScorePartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  /** What a task needs besides the model: the predictor's settings (max length resolved), window, score label. */
  record Settings(InferenceSettings inference, int windowBatches, int scoreIndex) implements Serializable {}

  /** The accumulators the tasks add their rows and times to. */
  record Counters(LongAccumulator rows, LongAccumulator loadNanos, LongAccumulator tokenizeNanos,
      LongAccumulator modelNanos, LongAccumulator taskNanos) implements Serializable {
    ScoringPlan.Timings timings() {
      return new ScoringPlan.Timings(rows.value(), seconds(loadNanos), seconds(tokenizeNanos), seconds(modelNanos),
          seconds(taskNanos));
    }

    private static double seconds(LongAccumulator nanos) {
      return nanos.value() / 1e9;
    }
  }

  private final Broadcast<ModelBundle> bundle;
  private final String key;
  private final int textIndex;
  private final Settings settings;
  private final Counters counters;

  ScorePartition(Broadcast<ModelBundle> bundle, String key, int textIndex, Settings settings, Counters counters) {
    this.bundle = bundle;
    this.key = key;
    this.textIndex = textIndex;
    this.settings = settings;
    this.counters = counters;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    long started = System.nanoTime();
    Predictor predictor = Predictor.open(key, bundle::value, settings.inference());
    long loaded = System.nanoTime();
    Scored scored = new Scored(rows, predictor, started, loaded - started);
    TaskContext task = TaskContext.get();
    if (task != null) {
      // Also when the consumer stops early (limit, show) or the task fails: release native memory.
      task.addTaskCompletionListener((TaskCompletionListener) context -> scored.finish());
    }
    return scored;
  }

  /** The partition's rows with predictions, one window at a time. */
  private final class Scored implements Iterator<Row> {
    private final Iterator<Row> input;
    private final Predictor predictor;
    private final int windowRows;
    private final long started;
    private final long loadNanos;
    private final List<Row> window;
    private final List<String> texts;
    private Prediction[] predictions;
    private int position;
    private boolean finished;

    Scored(Iterator<Row> input, Predictor predictor, long started, long loadNanos) {
      this.input = input;
      this.predictor = predictor;
      this.windowRows = (int) Math.min(Integer.MAX_VALUE / 2,
          (long) settings.windowBatches() * settings.inference().batchSize());
      this.started = started;
      this.loadNanos = loadNanos;
      this.window = new ArrayList<>(Math.min(windowRows, 1 << 16));
      this.texts = new ArrayList<>(Math.min(windowRows, 1 << 16));
    }

    @Override
    public boolean hasNext() {
      if (position < window.size()) {
        return true;
      }
      if (finished) {
        return false;
      }
      fill();
      if (window.isEmpty()) {
        finish();
        return false;
      }
      return true;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row row = window.get(position);
      Prediction p = predictions[position];
      window.set(position, null); // the row is handed on; let it be collected before the window ends
      position++;
      return withPrediction(row, p);
    }

    private void fill() {
      window.clear();
      texts.clear();
      position = 0;
      while (window.size() < windowRows && input.hasNext()) {
        Row row = input.next();
        window.add(row);
        texts.add(row.isNullAt(textIndex) ? null : row.getString(textIndex));
      }
      if (!window.isEmpty()) {
        predictions = predictor.predict(texts);
        counters.rows().add(window.size());
      }
    }

    private Row withPrediction(Row row, Prediction p) {
      int n = row.length();
      Object[] values = new Object[n + 6];
      for (int i = 0; i < n; i++) {
        values[i] = row.get(i);
      }
      if (p.scored()) {
        values[n] = p.label();
        values[n + 1] = p.index();
        // Spark's row encoder takes a Scala Seq for array columns; this wraps without copying.
        values[n + 2] = ArraySeq.unsafeWrapArray(p.probabilities());
        values[n + 3] = p.probability(settings.scoreIndex());
      }
      values[n + 4] = p.error();
      values[n + 5] = p.truncated();
      return RowFactory.create(values);
    }

    /** Adds this partition's counts once, and frees the predictor's native memory (not the shared model). */
    void finish() {
      if (finished) {
        return;
      }
      finished = true;
      window.clear();
      counters.loadNanos().add(loadNanos);
      counters.tokenizeNanos().add(predictor.tokenizeNanos());
      counters.modelNanos().add(predictor.modelNanos());
      counters.taskNanos().add(System.nanoTime() - started);
      predictor.close();
    }
  }
}
