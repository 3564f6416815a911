package io.textspark.inference;

import io.textspark.config.ModelConfig;
import io.textspark.model.PretrainedModel;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A model reference read on this JVM and checked (it has a trained classification head), with the
 * maximum length it scores at: what a {@link Predictor} is built from, here or, as a {@link
 * ModelBundle}, on executors. Nothing is on a device yet.
 *
 * @param model the model's config, weights and tokenizer
 * @param maxLength the resolved maximum length, always positive
 */
public record ResolvedModel(PretrainedModel model, int maxLength) {

  /**
   * Reads {@code reference} (checkpoint folder on any Hadoop file system, model folder or Hub name,
   * with {@code hub}'s endpoint, revision and cache), refuses a model without a trained head, and
   * resolves {@code maxLength} (0: the length the model was trained with).
   */
  public static ResolvedModel resolve(String reference, ModelConfig hub, int maxLength, Configuration conf) {
    PretrainedModel model = PretrainedModel.load(reference, hub, conf);
    ScoringModel.requireTrainedHead(model.reference(), model.config(), model.weights());
    return new ResolvedModel(model, ScoringModel.resolveMaxLength(model, maxLength, conf));
  }

  /** Where the model came from (a checkpoint is named by its folder). */
  public String reference() {
    return model.reference();
  }

  /** The label names by index. */
  public List<String> labels() {
    return model.config().labels();
  }

  /** The index of {@code label} among the labels; empty means the last one. */
  public int scoreIndex(String label) {
    return Prediction.scoreIndex(labels(), label);
  }

  /** The model as bytes to broadcast to executors. */
  public ModelBundle bundle() {
    return ModelBundle.of(model);
  }
}
