package io.textspark.model.distilbert;

import io.textspark.model.HfConfig;
import io.textspark.model.HfFamily;
import java.util.List;

/** The DistilBERT family ({@code model_type} {@code distilbert}) for the model registry. */
public final class DistilBertFamily extends HfFamily {
  /** How DistilBERT's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("distilbert", "DistilBertForSequenceClassification",
      List.of("dropout", "attention_dropout", "seq_classif_dropout"), "n_layers", "dim", 512, 0, false);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public DistilBertFamily() {
    super(SPEC, DistilBertDims::of, DistilBertClassifier::load, DistilBertOnnx::graph, DistilBertClassifier.HEAD);
  }
}
