package io.textspark.model.bert;

import ai.djl.ndarray.NDManager;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamily;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import io.textspark.onnx.proto.Onnx;
import java.util.List;
import java.util.Map;

/** The BERT family ({@code model_type} {@code bert}: BERT, MiniLM, e5, bge) for the model registry. */
public final class BertFamily implements ModelFamily {
  private static final List<String> HEAD = List.of("classifier.weight", "classifier.bias");

  /** The family; {@code ModelFamilies} holds the one instance. */
  public BertFamily() {}

  @Override
  public List<String> modelTypes() {
    return List.of(BertConfig.MODEL_TYPE);
  }

  @Override
  public BertConfig parseConfig(String json, String source) {
    return BertConfig.parse(json, source);
  }

  @Override
  public TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return BertClassifier.load(parent, bert(config), weights, seed);
  }

  private static BertConfig bert(ClassifierConfig config) {
    if (!(config instanceof BertConfig bert)) {
      throw new IllegalArgumentException(
          "the bert family cannot build a model of model_type \"" + config.modelType() + "\".");
    }
    return bert;
  }

  @Override
  public boolean exportsOnnx() {
    return true;
  }

  @Override
  public Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    return BertOnnx.graph(bert(config), weights);
  }

  @Override
  public List<String> trainedHeadTensors() {
    return HEAD;
  }
}
