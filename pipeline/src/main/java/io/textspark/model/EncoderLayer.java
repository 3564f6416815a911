package io.textspark.model;

import static io.textspark.model.EncoderOps.activation;
import static io.textspark.model.EncoderOps.dropout;
import static io.textspark.model.EncoderOps.layerNorm;
import static io.textspark.model.EncoderOps.linear;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One post-LayerNorm transformer layer (BERT's, and RoBERTa's, ELECTRA's and DistilBERT's under
 * other names): multi-head self-attention, residual and layer norm, then a feed-forward block,
 * residual and layer norm. Holds the layer's parameters, looked up once by name.
 *
 * @param queryWeight query projection [H, H], and so on for every parameter below
 * @param queryBias query bias [H]
 * @param keyWeight key projection
 * @param keyBias key bias
 * @param valueWeight value projection
 * @param valueBias value bias
 * @param attentionOutWeight attention output projection
 * @param attentionOutBias attention output bias
 * @param attentionNormWeight layer norm gain after attention
 * @param attentionNormBias layer norm offset after attention
 * @param intermediateWeight feed-forward input projection [I, H]
 * @param intermediateBias feed-forward input bias
 * @param outputWeight feed-forward output projection [H, I]
 * @param outputBias feed-forward output bias
 * @param outputNormWeight layer norm gain after the feed-forward block
 * @param outputNormBias layer norm offset after the feed-forward block
 */
public record EncoderLayer(
    NDArray queryWeight, NDArray queryBias, NDArray keyWeight, NDArray keyBias, NDArray valueWeight,
    NDArray valueBias, NDArray attentionOutWeight, NDArray attentionOutBias, NDArray attentionNormWeight,
    NDArray attentionNormBias, NDArray intermediateWeight, NDArray intermediateBias, NDArray outputWeight,
    NDArray outputBias, NDArray outputNormWeight, NDArray outputNormBias) {

  /**
   * The module names of a layer's eight parts relative to the layer prefix, in parameter order:
   * query, key, value, attention output, attention norm, intermediate, output, output norm.
   *
   * @param modules the eight module names
   */
  public record Names(List<String> modules) {
    /** BERT's names, which RoBERTa and ELECTRA share. */
    public static final Names BERT = new Names(List.of("attention.self.query", "attention.self.key",
        "attention.self.value", "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
        "output.dense", "output.LayerNorm"));

    /** Checks there are eight names. */
    public Names {
      if (modules.size() != 8) {
        throw new IllegalArgumentException("a layer has 8 named parts, not " + modules.size());
      }
      modules = List.copyOf(modules);
    }
  }

  /**
   * How a layer computes, from the family's config.
   *
   * @param heads attention heads
   * @param eps layer norm epsilon
   * @param activation feed-forward activation ({@link EncoderOps#activation})
   * @param hiddenDropout dropout after the attention output and the feed-forward block
   * @param attentionDropout dropout on attention probabilities
   * @param dropoutAfterAttention whether {@code hiddenDropout} also follows the attention output
   *     projection (BERT: yes; DistilBERT: no)
   */
  public record Settings(int heads, double eps, String activation, double hiddenDropout, double attentionDropout,
      boolean dropoutAfterAttention) {}

  /** Adds the shapes of the layer at {@code prefix} (ending in a dot) to {@code shapes}, in parameter order. */
  public static void addShapes(Map<String, long[]> shapes, String prefix, Names names, long hidden, long inner) {
    long[][] weights = {{hidden, hidden}, {hidden, hidden}, {hidden, hidden}, {hidden, hidden}, {hidden},
        {inner, hidden}, {hidden, inner}, {hidden}};
    long[][] biases = {{hidden}, {hidden}, {hidden}, {hidden}, {hidden}, {inner}, {hidden}, {hidden}};
    for (int i = 0; i < 8; i++) {
      shapes.put(prefix + names.modules().get(i) + ".weight", weights[i]);
      shapes.put(prefix + names.modules().get(i) + ".bias", biases[i]);
    }
  }

  /** The shapes of one layer at {@code prefix}, in parameter order. */
  public static Map<String, long[]> shapes(String prefix, Names names, long hidden, long inner) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    addShapes(shapes, prefix, names, hidden, inner);
    return shapes;
  }

  /** The layer at {@code prefix} (ending in a dot) of {@code parameters}. */
  public static EncoderLayer of(Map<String, NDArray> parameters, String prefix, Names names) {
    NDArray[] a = new NDArray[16];
    for (int i = 0; i < 8; i++) {
      a[2 * i] = parameters.get(prefix + names.modules().get(i) + ".weight");
      a[2 * i + 1] = parameters.get(prefix + names.modules().get(i) + ".bias");
    }
    return new EncoderLayer(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
        a[14], a[15]);
  }

  /**
   * Runs the layer on {@code input} [B, T, H]; its temporaries are closed, and the output is
   * attached to the manager of {@code input}.
   *
   * @param additiveMask [B, 1, 1, T] or null ({@link EncoderOps#additiveMask})
   */
  public NDArray forward(NDArray input, NDArray additiveMask, Settings s, boolean training) {
    NDManager outer = input.getManager();
    Shape shape = input.getShape();
    long batch = shape.get(0);
    long tokens = shape.get(1);
    long hidden = shape.get(2);
    int headDim = (int) (hidden / s.heads());
    try (NDManager temp = outer.newSubManager()) {
      // Ops attach results to the manager of their first operand, so borrowing the input puts
      // every temporary of this layer into temp; tempAttach returns the input to outer afterwards.
      input.tempAttach(temp);
      Shape split = new Shape(batch, tokens, s.heads(), headDim);
      NDArray query = linear(input, queryWeight, queryBias).reshape(split).transpose(0, 2, 1, 3);
      NDArray keyT = linear(input, keyWeight, keyBias).reshape(split).transpose(0, 2, 3, 1);
      NDArray value = linear(input, valueWeight, valueBias).reshape(split).transpose(0, 2, 1, 3);
      // Scaling the [B, h, T, d] query is cheaper than scaling the [B, h, T, T] scores.
      NDArray scores = EncoderOps.scale(query, 1.0 / Math.sqrt(headDim)).matMul(keyT);
      if (additiveMask != null) {
        scores = scores.add(additiveMask);
      }
      NDArray probs = dropout(scores.softmax(-1), s.attentionDropout(), training);
      NDArray context = probs.matMul(value).transpose(0, 2, 1, 3).reshape(batch, tokens, hidden);
      NDArray attended = linear(context, attentionOutWeight, attentionOutBias);
      if (s.dropoutAfterAttention()) {
        attended = dropout(attended, s.hiddenDropout(), training);
      }
      NDArray afterAttention = layerNorm(attended.add(input), attentionNormWeight, attentionNormBias, s.eps());
      NDArray intermediate = activation(linear(afterAttention, intermediateWeight, intermediateBias), s.activation());
      NDArray output = dropout(linear(intermediate, outputWeight, outputBias), s.hiddenDropout(), training);
      NDArray result = layerNorm(output.add(afterAttention), outputNormWeight, outputNormBias, s.eps());
      result.attach(outer);
      return result;
    }
  }
}
