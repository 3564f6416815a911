package io.textspark.model.roberta;

import io.textspark.model.EncoderDims;
import io.textspark.model.HfConfig;
import io.textspark.model.HfFamily;
import java.util.List;

/** The RoBERTa family ({@code model_type} {@code roberta}: roberta-base, distilroberta...) for the model registry. */
public final class RobertaFamily extends HfFamily {
  /** How RoBERTa's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("roberta", "RobertaForSequenceClassification",
      List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"), "num_hidden_layers",
      "hidden_size", 514, 1, true);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public RobertaFamily() {
    super(SPEC, config -> EncoderDims.of(config, 1), RobertaClassifier::load, RobertaOnnx::graph, RobertaClassifier.HEAD);
  }
}
