package io.textspark.model.debertav2;

import ai.djl.ndarray.NDManager;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.HfConfig;
import io.textspark.model.ModelFamily;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import io.textspark.onnx.proto.Onnx;
import java.util.List;
import java.util.Map;

/** The DeBERTa-v2 family ({@code model_type} {@code deberta-v2}: DeBERTa-v2 and -v3) for the model registry. */
public final class DebertaV2Family implements ModelFamily {
  /** How DeBERTa-v2's {@code config.json} names the generic keys. */
  static final HfConfig.Spec SPEC = new HfConfig.Spec("deberta-v2", "DebertaV2ForSequenceClassification",
      List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "pooler_dropout", "cls_dropout"),
      "num_hidden_layers", "hidden_size", 512, 0, false);

  /** The family; {@code ModelFamilies} holds the one instance. */
  public DebertaV2Family() {}

  @Override
  public List<String> modelTypes() {
    return List.of(SPEC.modelType());
  }

  @Override
  public HfConfig parseConfig(String json, String source) {
    HfConfig config = HfConfig.parse(SPEC, json, source);
    DebertaV2Dims.of(config);
    return config;
  }

  @Override
  public TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return DebertaV2Classifier.load(parent, HfConfig.of(config, SPEC), weights, seed);
  }

  @Override
  public boolean exportsOnnx() {
    return true;
  }

  @Override
  public Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    return DebertaV2Onnx.graph(HfConfig.of(config, SPEC), weights);
  }

  @Override
  public List<String> trainedHeadTensors() {
    return DebertaV2Classifier.HEAD;
  }
}
