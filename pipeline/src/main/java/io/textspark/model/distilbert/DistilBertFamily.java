package io.textspark.model.distilbert;

import ai.djl.ndarray.NDManager;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.HfConfig;
import io.textspark.model.ModelFamily;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import io.textspark.onnx.proto.Onnx;
import java.util.List;
import java.util.Map;

/** The DistilBERT family ({@code model_type} {@code distilbert}) for the model registry. */
public final class DistilBertFamily implements ModelFamily {
  /** How DistilBERT's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("distilbert", "DistilBertForSequenceClassification",
      List.of("dropout", "attention_dropout", "seq_classif_dropout"), "n_layers", "dim", 512, 0, false);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public DistilBertFamily() {}

  @Override
  public List<String> modelTypes() {
    return List.of(SPEC.modelType());
  }

  @Override
  public HfConfig parseConfig(String json, String source) {
    HfConfig config = HfConfig.parse(SPEC, json, source);
    DistilBertDims.of(config);
    return config;
  }

  @Override
  public TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return DistilBertClassifier.load(parent, HfConfig.of(config, SPEC), weights, seed);
  }

  @Override
  public boolean exportsOnnx() {
    return true;
  }

  @Override
  public Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    return DistilBertOnnx.graph(HfConfig.of(config, SPEC), weights);
  }

  @Override
  public List<String> trainedHeadTensors() {
    return DistilBertClassifier.HEAD;
  }
}
