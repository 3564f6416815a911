package io.textspark.model;

import ai.djl.ndarray.NDManager;
import io.textspark.onnx.proto.Onnx;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A model family whose {@code config.json} is read into an {@link HfConfig} by its {@link HfConfig.Spec}:
 * the registry entry of RoBERTa, DistilBERT, ELECTRA and DeBERTa-v2. A family names its spec, how it
 * validates the parsed config, its classifier's loader, its ONNX graph and its trained head.
 */
public abstract class HfFamily implements ModelFamily {
  /** Builds a family's classifier from an {@link HfConfig}; see {@link ModelFamily#load}. */
  @FunctionalInterface
  protected interface Loader {
    /** The classifier of {@code config} with {@code weights}, a missing head drawn from {@code seed}. */
    TextClassifier load(NDManager parent, HfConfig config, Map<String, Safetensors.Tensor> weights, long seed);
  }

  /** Builds a family's ONNX graph from an {@link HfConfig}; see {@link ModelFamily#onnxGraph}. */
  @FunctionalInterface
  protected interface Graph {
    /** The graph of {@code config} with {@code weights}. */
    Onnx.GraphProto build(HfConfig config, Map<String, Safetensors.Tensor> weights);
  }

  private final HfConfig.Spec spec;
  private final Consumer<HfConfig> validate;
  private final Loader loader;
  private final Graph graph;
  private final List<String> head;

  /**
   * @param spec how the family's {@code config.json} names the generic keys
   * @param validate checks a parsed config (throwing the family's error) before anything is loaded
   * @param loader the family's classifier
   * @param graph the family's ONNX graph
   * @param head the tensors of a trained head
   */
  protected HfFamily(HfConfig.Spec spec, Consumer<HfConfig> validate, Loader loader, Graph graph, List<String> head) {
    this.spec = spec;
    this.validate = validate;
    this.loader = loader;
    this.graph = graph;
    this.head = head;
  }

  @Override
  public final List<String> modelTypes() {
    return List.of(spec.modelType());
  }

  @Override
  public final HfConfig parseConfig(String json, String source) {
    HfConfig config = HfConfig.parse(spec, json, source);
    validate.accept(config);
    return config;
  }

  @Override
  public final TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return loader.load(parent, HfConfig.of(config, spec), weights, seed);
  }

  @Override
  public final boolean exportsOnnx() {
    return true;
  }

  @Override
  public final Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    return graph.build(HfConfig.of(config, spec), weights);
  }

  @Override
  public final List<String> trainedHeadTensors() {
    return head;
  }
}
