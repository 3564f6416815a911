package io.textspark.model;

import ai.djl.ndarray.NDManager;
import io.textspark.TextSparkException;
import io.textspark.onnx.proto.Onnx;
import java.util.List;
import java.util.Map;

/**
 * One family of Hugging Face sequence classifiers (BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa-v2): the
 * {@code model_type} names it answers to, how it reads a {@code config.json}, how it builds a
 * {@link TextClassifier} from safetensors weights, and which tensors make a trained head. A family
 * lives in its own package under {@code io.textspark.model} and is listed in {@link ModelFamilies}.
 */
public interface ModelFamily {

  /** The {@code model_type} values of {@code config.json} this family reads, the canonical one first. */
  List<String> modelTypes();

  /**
   * Parses a Hugging Face {@code config.json} of this family; {@code source} names the file in
   * errors, which name the key, its value and what is allowed.
   */
  ClassifierConfig parseConfig(String json, String source);

  /**
   * Builds a classifier from checkpoint tensors, its parameters in a sub-manager of {@code parent}.
   * A head the weights lack is initialised from {@code seed}, so a fresh head is reproducible; a
   * fine-tuned checkpoint's head is reloaded.
   *
   * @param config a config this family parsed
   * @throws io.textspark.TextSparkException naming the tensor when one is missing or has the wrong shape
   */
  TextClassifier load(NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed);

  /**
   * The tensors a fine-tuned checkpoint has and a pretrained encoder lacks (for BERT, {@code
   * classifier.weight} and {@code classifier.bias}): without them {@link #load} would make up a
   * random head, so scoring refuses such weights.
   */
  List<String> trainedHeadTensors();

  /** Whether {@link #onnxGraph} builds this family's ONNX graph ({@code textspark export}). */
  default boolean exportsOnnx() {
    return false;
  }

  /**
   * The ONNX graph of the classifier {@code config} and {@code weights} describe, computing what
   * {@link #load}'s model computes: inputs {@code input_ids}, {@code attention_mask} (and {@code
   * token_type_ids} where the family has them), int64 [batch, sequence]; output {@code logits},
   * float [batch, num_labels]; weights as initializers.
   *
   * @param config a config this family parsed
   * @throws TextSparkException when the family cannot be exported (the default), naming the
   *     families that can, or when a tensor is missing or has the wrong shape
   */
  default Onnx.GraphProto onnxGraph(ClassifierConfig config, Map<String, Safetensors.Tensor> weights) {
    throw new TextSparkException("model_type \"" + config.modelType() + "\" cannot be exported to ONNX yet;"
        + " export supports: " + String.join(", ", ModelFamilies.onnxModelTypes()) + ". Export a model of one of"
        + " those families, or add onnxGraph to the family's ModelFamily.");
  }
}
