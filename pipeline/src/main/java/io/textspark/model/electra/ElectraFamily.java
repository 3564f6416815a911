package io.textspark.model.electra;

import io.textspark.model.EncoderDims;
import io.textspark.model.HfConfig;
import io.textspark.model.HfFamily;
import java.util.List;

/** The ELECTRA family ({@code model_type} {@code electra}, discriminator checkpoints) for the model registry. */
public final class ElectraFamily extends HfFamily {
  /** How ELECTRA's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("electra", "ElectraForSequenceClassification",
      List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"), "num_hidden_layers",
      "hidden_size", 512, 0, false);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public ElectraFamily() {
    super(SPEC, config -> EncoderDims.of(config, 2), ElectraClassifier::load, ElectraOnnx::graph, ElectraClassifier.HEAD);
  }
}
