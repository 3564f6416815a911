package io.textspark.testing;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.textspark.config.TextSparkConfig;
import io.textspark.inference.ScoringModel;
import io.textspark.model.PretrainedModel;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;

/**
 * Expected outputs computed the plain way: one text alone, its own token ids unpadded and without
 * an attention mask, softmax written out here. Batching, sorting and padding must not change them.
 */
public final class Reference {
  private Reference() {}

  /** The model of a checkpoint folder, on the CPU. */
  public static ScoringModel load(Path checkpoint) {
    Configuration conf = new Configuration();
    return ScoringModel.load(PretrainedModel.load(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        conf), ai.djl.Device.cpu());
  }

  /** Every label's probability for {@code ids} run alone through the model. */
  public static double[] probabilities(ScoringModel model, int[] ids) {
    long[] wide = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      wide[i] = ids[i];
    }
    float[] logits;
    try (NDManager m = NDManager.newBaseManager()) {
      logits = model.classifier().logits(m.create(wide, new Shape(1, wide.length)), null, false).toFloatArray();
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int j = 0; j < logits.length; j++) {
      p[j] = Math.exp(logits[j]);
      sum += p[j];
    }
    for (int j = 0; j < p.length; j++) {
      p[j] /= sum;
    }
    return p;
  }

  /** Every label's probability for {@code text} tokenized at {@code maxLength} and run alone. */
  public static double[] probabilities(ScoringModel model, String text, int maxLength) {
    return probabilities(model, model.tokenizer(maxLength).encode(text).ids());
  }
}
