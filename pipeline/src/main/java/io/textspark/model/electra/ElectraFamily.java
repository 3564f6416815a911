package io.textspark.model.electra;

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

/** The ELECTRA family ({@code model_type} {@code electra}, discriminator checkpoints) for the model registry. */
public final class ElectraFamily implements ModelFamily {
  /** How ELECTRA's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("electra", "ElectraForSequenceClassification",
      List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"), "num_hidden_layers",
      "hidden_size", 512, 0, false);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public ElectraFamily() {}

  @Override
  public List<String> modelTypes() {
    return List.of(SPEC.modelType());
  }

  @Override
  public HfConfig parseConfig(String json, String source) {
    HfConfig config = HfConfig.parse(SPEC, json, source);
    EncoderDims.of(config, 2);
    return config;
  }

  @Override
  public TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return ElectraClassifier.load(parent, HfConfig.of(config, SPEC), weights, seed);
  }

  @Override
  public boolean exportsOnnx() {
    return true;
  }

  @Override
  public Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    return ElectraOnnx.graph(HfConfig.of(config, SPEC), weights);
  }

  @Override
  public List<String> trainedHeadTensors() {
    return ElectraClassifier.HEAD;
  }
}
