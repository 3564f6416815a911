package io.textspark.model.debertav2;

import io.textspark.model.HfConfig;
import io.textspark.model.HfFamily;
import java.util.List;

/** The DeBERTa-v2 family ({@code model_type} {@code deberta-v2}: DeBERTa-v2 and -v3) for the model registry. */
public final class DebertaV2Family extends HfFamily {
  /** How DeBERTa-v2's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("deberta-v2", "DebertaV2ForSequenceClassification",
      List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "pooler_dropout", "cls_dropout"),
      "num_hidden_layers", "hidden_size", 512, 0, false);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public DebertaV2Family() {
    super(SPEC, DebertaV2Dims::of, DebertaV2Classifier::load, DebertaV2Onnx::graph, DebertaV2Classifier.HEAD);
  }
}
