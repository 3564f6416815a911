package io.textspark.inference;

import io.textspark.text.BertTokenizer;
import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import io.textspark.batch.PaddedBatch;
import java.util.Arrays;
import java.util.List;

/**
 * Scores lists of texts with one {@link InferenceModel} (PyTorch or ONNX Runtime): tokenizes them,
 * sorts them by length so a batch pads little, runs the model in eval mode batch by batch, and
 * returns the predictions in the order of the input. One scorer serves one thread (a Spark partition, a {@code predict} call);
 * many scorers can share a model.
 *
 * <p>Batches are built with the same {@link BatchPlan} and {@link PaddedBatch} as evaluation, so
 * {@code score} and {@code evaluate} feed the model identical tensors, whatever the engine.
 */
public final class BatchScorer implements AutoCloseable {
  /** The {@code score_error} of a row whose text is null. */
  public static final String NULL_TEXT = "text is null";

  private final InferenceModel model;
  private final BertTokenizer tokenizer;
  private final int batchSize;
  private final InferenceModel.Runner runner;
  private long tokenizeNanos;
  private long modelNanos;

  /** A scorer truncating at {@code maxLength} tokens and calling the model with up to {@code batchSize} rows. */
  public BatchScorer(InferenceModel model, int maxLength, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
    }
    this.model = model;
    this.tokenizer = model.tokenizer(maxLength);
    this.batchSize = batchSize;
    this.runner = model.runner();
  }

  /** The predictions for {@code texts} (which may hold nulls), in the same order. */
  public Prediction[] score(List<String> texts) {
    int n = texts.size();
    Prediction[] out = new Prediction[n];
    long started = System.nanoTime();
    int[] rows = new int[n];
    int[][] ids = new int[n][];
    boolean[] truncated = new boolean[n];
    int valid = 0;
    for (int i = 0; i < n; i++) {
      String text = texts.get(i);
      if (text == null) {
        out[i] = Prediction.failed(NULL_TEXT);
        continue;
      }
      BertTokenizer.Encoded encoded;
      try {
        encoded = tokenizer.encode(text);
      } catch (RuntimeException e) {
        // One unusual string must not fail a job over millions of rows; the row says why instead.
        out[i] = Prediction.failed("cannot tokenize the text: " + e.getMessage());
        continue;
      }
      rows[valid] = i;
      ids[valid] = encoded.ids();
      truncated[valid] = encoded.truncated();
      valid++;
    }
    tokenizeNanos += System.nanoTime() - started;
    if (valid == 0) {
      return out;
    }
    started = System.nanoTime();
    int[] idx = new int[valid];
    for (int k = 0; k < valid; k++) {
      idx[k] = k;
    }
    // Examples keeps rows sorted by idx, so position k is the k-th valid text.
    Examples examples = Examples.of(idx, new int[valid], new String[valid], Arrays.copyOf(ids, valid));
    List<String> labels = model.labels();
    int padId = model.config().padTokenId();
    int numLabels = labels.size();
    for (int[] positions : BatchPlan.sequential(examples, batchSize, true)) {
      float[] logits = runner.logits(PaddedBatch.of(examples, positions, padId));
      for (int r = 0; r < positions.length; r++) {
        int k = positions[r];
        double[] p = softmax(logits, r * numLabels, numLabels);
        int best = argMax(p);
        out[rows[k]] = new Prediction(labels.get(best), best, p, truncated[k], examples.length(k), null);
      }
    }
    modelNanos += System.nanoTime() - started;
    return out;
  }

  /** Nanoseconds spent tokenizing so far. */
  public long tokenizeNanos() {
    return tokenizeNanos;
  }

  /** Nanoseconds spent batching and running the model so far. */
  public long modelNanos() {
    return modelNanos;
  }

  /** The model this scorer uses. */
  public InferenceModel model() {
    return model;
  }

  /** Releases this scorer's native memory (not the shared model). */
  @Override
  public void close() {
    runner.close();
  }

  /** Softmax in double precision of {@code logits[from, from + n)}, shifted by the maximum for stability. */
  static double[] softmax(float[] logits, int from, int n) {
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      max = Math.max(max, logits[from + j]);
    }
    double[] p = new double[n];
    double sum = 0;
    for (int j = 0; j < n; j++) {
      p[j] = Math.exp(logits[from + j] - max);
      sum += p[j];
    }
    for (int j = 0; j < n; j++) {
      p[j] /= sum;
    }
    return p;
  }

  private static int argMax(double[] p) {
    int best = 0;
    for (int j = 1; j < p.length; j++) {
      if (p[j] > p[best]) {
        best = j;
      }
    }
    return best;
  }
}
