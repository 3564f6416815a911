package io.textspark.model.debertav2;

import static io.textspark.model.EncoderOps.activation;
import static io.textspark.model.EncoderOps.dropout;
import static io.textspark.model.EncoderOps.layerNorm;
import static io.textspark.model.EncoderOps.linear;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.textspark.model.EncoderOps;
import java.util.Map;

/**
 * One DeBERTa-v2 layer: disentangled self-attention (content-to-content scores plus
 * content-to-position and position-to-content scores over the relative-position embeddings, all
 * divided by sqrt(head size * scale factor)), then BERT's residual, layer norm and feed-forward
 * block. Follows Hugging Face's {@code DisentangledSelfAttention} with [B, heads, T, d] arrays.
 */
final class DebertaV2Layer {
  private final DebertaV2Dims dims;
  private final Map<String, NDArray> p;
  private final String prefix;

  DebertaV2Layer(DebertaV2Dims dims, Map<String, NDArray> parameters, String prefix) {
    this.dims = dims;
    this.p = parameters;
    this.prefix = prefix;
  }

  /**
   * The layer's output for {@code input} [B, T, H], attached to the manager of {@code input}.
   *
   * @param additiveMask [B, 1, 1, T] or null
   * @param relEmbeddings the (normalised) relative-position embeddings [2 span, H], or null without relative attention
   * @param c2pIndex clamp(rel + span) [T, T], or null
   * @param p2cIndex clamp(-rel + span) [T, T], or null
   */
  NDArray forward(NDArray input, NDArray additiveMask, NDArray relEmbeddings, NDArray c2pIndex, NDArray p2cIndex,
      boolean training) {
    NDManager outer = input.getManager();
    try (NDManager temp = outer.newSubManager()) {
      input.tempAttach(temp);
      NDArray context = attention(input, additiveMask, relEmbeddings, c2pIndex, p2cIndex, training);
      double eps = dims.base().layerNormEps();
      double hiddenDropout = dims.base().hiddenDropout();
      NDArray attended = dropout(linear(context, w("attention.output.dense.weight"), w("attention.output.dense.bias")),
          hiddenDropout, training);
      NDArray afterAttention = layerNorm(attended.add(input), w("attention.output.LayerNorm.weight"),
          w("attention.output.LayerNorm.bias"), eps);
      NDArray intermediate = activation(linear(afterAttention, w("intermediate.dense.weight"),
          w("intermediate.dense.bias")), dims.base().hiddenAct());
      NDArray output = dropout(linear(intermediate, w("output.dense.weight"), w("output.dense.bias")), hiddenDropout,
          training);
      NDArray result = layerNorm(output.add(afterAttention), w("output.LayerNorm.weight"), w("output.LayerNorm.bias"),
          eps);
      result.attach(outer);
      return result;
    }
  }

  private NDArray attention(NDArray x, NDArray additiveMask, NDArray rel, NDArray c2pIndex, NDArray p2cIndex,
      boolean training) {
    Shape shape = x.getShape();
    long batch = shape.get(0);
    long tokens = shape.get(1);
    int heads = dims.base().numAttentionHeads();
    NDArray query = heads(linear(x, w("attention.self.query_proj.weight"), w("attention.self.query_proj.bias")));
    NDArray key = heads(linear(x, w("attention.self.key_proj.weight"), w("attention.self.key_proj.bias")));
    NDArray value = heads(linear(x, w("attention.self.value_proj.weight"), w("attention.self.value_proj.bias")));
    long headDim = query.getShape().get(3);
    double inverseScale = 1.0 / Math.sqrt(headDim * (double) dims.scaleFactor());
    NDArray scores = EncoderOps.scale(query.matMul(key.transpose(0, 1, 3, 2)), inverseScale);
    if (rel != null && (dims.c2p() || dims.p2c())) {
      NDArray positions = dropout(rel, dims.base().hiddenDropout(), training);
      Shape full = new Shape(batch, heads, tokens, tokens);
      if (dims.c2p()) {
        NDArray posKey = heads(projection(positions, "key", "pos_key_proj"));
        NDArray c2p = query.matMul(posKey.transpose(0, 1, 3, 2)).gather(c2pIndex.broadcast(full), 3);
        scores = scores.add(EncoderOps.scale(c2p, inverseScale));
      }
      if (dims.p2c()) {
        NDArray posQuery = heads(projection(positions, "query", "pos_query_proj"));
        NDArray p2c = key.matMul(posQuery.transpose(0, 1, 3, 2)).gather(p2cIndex.broadcast(full), 3)
            .transpose(0, 1, 3, 2);
        scores = scores.add(EncoderOps.scale(p2c, inverseScale));
      }
    }
    if (additiveMask != null) {
      scores = scores.add(additiveMask);
    }
    NDArray probs = dropout(scores.softmax(-1), dims.base().attentionDropout(), training);
    return probs.matMul(value).transpose(0, 2, 1, 3).reshape(batch, tokens, dims.base().hiddenSize());
  }

  /** The relative embeddings through the shared content projection or the layer's own position projection. */
  private NDArray projection(NDArray positions, String shared, String own) {
    String name = dims.shareAttKey() ? "attention.self." + shared + "_proj" : "attention.self." + own;
    return linear(positions.expandDims(0), w(name + ".weight"), w(name + ".bias"));
  }

  /** [B, T, H] to [B, heads, T, d]. */
  private NDArray heads(NDArray x) {
    Shape s = x.getShape();
    int heads = dims.base().numAttentionHeads();
    return x.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
  }

  private NDArray w(String name) {
    return p.get(prefix + name);
  }
}
