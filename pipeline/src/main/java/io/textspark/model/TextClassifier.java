package io.textspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.OutputStream;
import java.util.Map;

/**
 * A sequence classifier of any family as training, evaluation and scoring use it: logits from
 * token ids, its parameters by Hugging Face tensor name for the optimizer and the gradient
 * all-reduce, and safetensors output under the family's Hugging Face names. Built by {@link
 * ModelFamily#load}; its parameters live until {@link #close()}.
 */
public interface TextClassifier extends AutoCloseable {

  /** The architecture and labels this classifier was built for. */
  ClassifierConfig config();

  /**
   * The class scores [B, numLabels] of a batch, attached to the manager of {@code inputIds}; a
   * family that uses token type ids makes them itself (all zeros for single sentences).
   *
   * @param inputIds token ids [B, T], INT64 or INT32
   * @param attentionMask 1 for real tokens and 0 for padding [B, T], or null for all ones
   * @param training whether to apply dropout (seed it with {@code Engine.setRandomSeed})
   */
  NDArray logits(NDArray inputIds, NDArray attentionMask, boolean training);

  /**
   * Every parameter by its Hugging Face name, in a stable order that is the same on every worker;
   * the map is read-only but the arrays are live, so an optimizer updates them in place.
   */
  Map<String, NDArray> parameters();

  /** Turns gradient tracking on or off for every parameter (on before a training step). */
  void setRequiresGradient(boolean requiresGradient);

  /**
   * The gradient of every parameter after a backward pass, by name in {@link #parameters()}
   * order, attached to {@code into} so that the model's own manager does not grow.
   */
  Map<String, NDArray> gradients(NDManager into);

  /** Sets every parameter gradient to zero, as needed before each backward pass (PyTorch accumulates). */
  void zeroGradients();

  /** Writes all parameters to {@code out} as safetensors under the family's Hugging Face names. */
  void save(OutputStream out, Map<String, String> metadata);

  /** Releases the parameters. */
  @Override
  void close();
}
