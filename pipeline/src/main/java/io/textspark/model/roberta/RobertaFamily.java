package io.textspark.model.roberta;

import ai.djl.ndarray.NDManager;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.EncoderDims;
import io.textspark.model.HfConfig;
import io.textspark.model.ModelFamily;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import io.textspark.onnx.proto.Onnx;
import java.util.List;
import java.util.Map;

/** The RoBERTa family ({@code model_type} {@code roberta}: roberta-base, distilroberta...) for the model registry. */
public final class RobertaFamily implements ModelFamily {
  /** How RoBERTa's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("roberta", "RobertaForSequenceClassification",
      List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"), "num_hidden_layers",
      "hidden_size", 514, 1, true);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public RobertaFamily() {}

  @Override
  public List<String> modelTypes() {
    return List.of(SPEC.modelType());
  }

  @Override
  public HfConfig parseConfig(String json, String source) {
    HfConfig config = HfConfig.parse(SPEC, json, source);
    EncoderDims.of(config, 1);
    return config;
  }

  @Override
  public TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return RobertaClassifier.load(parent, HfConfig.of(config, SPEC), weights, seed);
  }

  @Override
  public boolean exportsOnnx() {
    return true;
  }

  @Override
  public Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    return RobertaOnnx.graph(HfConfig.of(config, SPEC), weights);
  }

  @Override
  public List<String> trainedHeadTensors() {
    return RobertaClassifier.HEAD;
  }
}
