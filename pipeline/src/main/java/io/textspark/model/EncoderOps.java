package io.textspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import io.textspark.TextSparkException;

/**
 * The DJL PyTorch operations every encoder family is made of (dense layers, layer norm, dropout,
 * activations, embedding lookups, attention masks), with Hugging Face's semantics: weights are
 * [out, in] as {@code nn.Linear} stores them, and masked attention scores get the float minimum.
 */
public final class EncoderOps {
  /** Hugging Face fills masked attention scores with the dtype minimum; so do we. */
  public static final float MASK_FILL = -Float.MAX_VALUE;

  private EncoderOps() {}

  /** {@code x W^T + b}; {@code bias} may be null. */
  public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
    return Linear.linear(x, weight, bias).head();
  }

  /** Layer norm over the last axis, whose size is that of {@code gamma}. */
  public static NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta, double eps) {
    return LayerNorm.layerNorm(x, gamma.getShape(), gamma, beta, (float) eps).head();
  }

  /** Inverted dropout when training and {@code rate > 0}; the input itself otherwise. */
  public static NDArray dropout(NDArray x, double rate, boolean training) {
    if (!training || rate == 0) {
      return x;
    }
    return Dropout.dropout(x, (float) rate, true).head();
  }

  /**
   * A Hugging Face activation by its {@code config.json} name: {@code gelu} (erf), {@code relu},
   * {@code tanh}; {@link #checkActivation} refuses others when the config is read.
   */
  public static NDArray activation(NDArray x, String name) {
    return switch (name) {
      case "gelu" -> Activation.gelu(x);
      case "relu" -> Activation.relu(x);
      case "tanh" -> x.tanh();
      default -> throw new IllegalArgumentException("unsupported activation " + name);
    };
  }

  /** Refuses an activation {@link #activation} does not compute, naming the key and the allowed values. */
  public static void checkActivation(String source, String key, String name) {
    if (!"gelu".equals(name) && !"relu".equals(name) && !"tanh".equals(name)) {
      throw new TextSparkException(
          source + ": " + key + " = \"" + name + "\" is not supported; allowed: \"gelu\", \"relu\", \"tanh\".");
    }
  }

  /**
   * A sequence classification head on the first token of {@code hidden} [B, T, H]: dropout, dense,
   * activation, dropout, output projection, as RoBERTa's, ELECTRA's and DeBERTa's heads compute
   * (a dropout rate of 0 skips that dropout).
   */
  public static NDArray firstTokenHead(NDArray hidden, double dropoutBefore, NDArray denseWeight, NDArray denseBias,
      String activation, double dropoutAfter, NDArray outWeight, NDArray outBias, boolean training) {
    NDArray x = dropout(hidden.get(":, 0, :"), dropoutBefore, training);
    x = activation(linear(x, denseWeight, denseBias), activation);
    return linear(dropout(x, dropoutAfter, training), outWeight, outBias);
  }

  /** Rows of {@code table} for INT64 or INT32 ids, as {@code nn.Embedding} does. */
  public static NDArray embedding(NDArray ids, NDArray table) {
    return Embedding.embedding(ids, table, SparseFormat.DENSE).head();
  }

  /**
   * The additive attention mask [B, 1, 1, T] of a 0/1 mask [B, T]: 0 for tokens and the dtype
   * minimum for padding, as in Hugging Face; null when {@code attentionMask} is null.
   */
  public static NDArray additiveMask(NDArray attentionMask, NDManager scope) {
    if (attentionMask == null) {
      return null;
    }
    Shape shape = attentionMask.getShape();
    return inScope(attentionMask.toType(DataType.FLOAT32, true), scope)
        .sub(1f)
        .mul(-MASK_FILL)
        .reshape(shape.get(0), 1, 1, shape.get(1));
  }

  /** Multiplies by a scalar held in a PyTorch-allocated tensor, which autograd may keep (see below). */
  public static NDArray scale(NDArray x, double factor) {
    // DJL's mul(Number) gives the scalar a Java-owned buffer that is freed once DJL closes the
    // handle, while autograd still holds it for the backward pass (garbage gradients).
    try (NDArray s = x.getManager().full(new Shape(), (float) factor, x.getDataType())) {
      return x.mul(s);
    }
  }

  /** INT64 indices in {@code scope}, as PyTorch's embedding wants; the caller's array is untouched. */
  public static NDArray indices(NDArray ids, NDManager scope) {
    return inScope(ids.toType(DataType.INT64, true), scope);
  }

  /** Moves an array created from a caller's array (hence in the caller's manager) into scope. */
  public static NDArray inScope(NDArray array, NDManager scope) {
    array.attach(scope);
    return array;
  }

  /**
   * Checks a batch before a forward pass: ids [B, T] with T at most {@code maxPositions} (0 for no
   * limit), and a mask of the same shape when given.
   */
  public static void checkInputs(NDArray inputIds, NDArray attentionMask, int maxPositions) {
    Shape shape = inputIds.getShape();
    if (shape.dimension() != 2) {
      throw new TextSparkException("inputIds must have shape [batch, tokens] but has shape " + shape + ".");
    }
    if (maxPositions > 0 && shape.get(1) > maxPositions) {
      throw new TextSparkException("a batch has " + shape.get(1) + " tokens but the model supports at most"
          + " max_position_embeddings = " + maxPositions + "; truncate the input to that length.");
    }
    if (attentionMask != null && !attentionMask.getShape().equals(shape)) {
      throw new TextSparkException(
          "attentionMask has shape " + attentionMask.getShape() + " but inputIds has shape " + shape + ".");
    }
  }
}
