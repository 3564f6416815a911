package io.textspark.evaluate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import io.textspark.batch.PaddedBatch;
import io.textspark.collective.Collective;
import io.textspark.metrics.MetricsByDomain;
import io.textspark.model.TextClassifier;
import java.util.List;

/** Scores a labelled set with a model in eval mode: loss, accuracy, MCC, F1, per domain. */
public final class Evaluator {
  /** The domains CoLA's validation set distinguishes. */
  public static final List<String> DOMAINS = List.of("in", "out");

  private Evaluator() {}

  /**
   * Evaluates {@code model} on {@code examples} in batches of {@code batchSize} (sorted by length to
   * pad little); with several workers each passes its own shard and the counts are summed, so
   * every worker returns the metrics of the whole set.
   */
  public static MetricsByDomain evaluate(
      TextClassifier model, Examples examples, int batchSize, NDManager manager, Collective collective) {
    MetricsByDomain metrics = new MetricsByDomain(DOMAINS);
    int numLabels = model.config().numLabels();
    boolean wasGrad = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      for (int[] positions : BatchPlan.sequential(examples, batchSize, true)) {
        PaddedBatch batch = PaddedBatch.of(examples, positions, model.config().padTokenId());
        try (NDManager step = manager.newSubManager()) {
          NDArray logits = model.logits(batch.inputIdsArray(step), batch.attentionMaskArray(step), false);
          NDArray logProbs = logits.logSoftmax(1);
          NDArray labels = batch.labelsArray(step);
          float[] losses = logProbs.mul(labels.oneHot(numLabels)).sum(new int[] {1}).neg().toFloatArray();
          long[] predicted = logits.argMax(1).toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray();
          for (int i = 0; i < batch.batchSize(); i++) {
            String domain = batch.domains()[i];
            metrics.add(domain, batch.labels()[i], (int) predicted[i]);
            metrics.addLoss(domain, losses[i]);
          }
        }
      }
    } finally {
      JniUtils.setGradMode(wasGrad);
    }
    if (collective.size() > 1) {
      long[] counts = metrics.toCounts();
      double[] packed = new double[counts.length];
      for (int i = 0; i < counts.length; i++) {
        packed[i] = counts[i];
      }
      collective.allReduceSum(packed);
      double[] losses = metrics.toLossArray();
      collective.allReduceSum(losses);
      for (int i = 0; i < counts.length; i++) {
        counts[i] = Math.round(packed[i]);
      }
      metrics = MetricsByDomain.fromArrays(DOMAINS, counts, losses);
    }
    return metrics;
  }
}
