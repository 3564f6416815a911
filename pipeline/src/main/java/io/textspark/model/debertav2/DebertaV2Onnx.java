package io.textspark.model.debertav2;

import static io.textspark.onnx.OnnxGraph.attr;

import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderDims;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOnnx;
import io.textspark.model.HfConfig;
import io.textspark.model.Safetensors;
import io.textspark.onnx.OnnxGraph;
import io.textspark.onnx.proto.Onnx.GraphProto;
import io.textspark.onnx.proto.Onnx.TensorProto;
import java.util.List;
import java.util.Map;

/**
 * The ONNX graph of a {@link DebertaV2Classifier}, built with {@link io.textspark.model.EncoderOnnx}:
 * its embeddings zeroed at padding, layers of disentangled attention over the relative positions
 * of the batch's tokens (computed in the graph from the sequence axis, log buckets included, so the
 * axis stays dynamic), BERT's residuals and feed-forward blocks, and the ContextPooler head on the
 * first token. Every layer runs for every token: the position-to-content scores of the first token
 * need every token's keys against every position. Inputs {@code input_ids} and {@code attention_mask}.
 */
final class DebertaV2Onnx {
  private static final String PREFIX = "deberta.";
  private static final String E = PREFIX + "embeddings.";
  private static final EncoderLayer.Names NAMES = new EncoderLayer.Names(List.of("attention.self.query_proj",
      "attention.self.key_proj", "attention.self.value_proj", "attention.output.dense", "attention.output.LayerNorm",
      "intermediate.dense", "output.dense", "output.LayerNorm"));
  private static final long FLOAT = TensorProto.DataType.FLOAT.getNumber();
  private static final long INT64 = TensorProto.DataType.INT64.getNumber();

  private final DebertaV2Dims d;
  private final EncoderOnnx b;
  private final OnnxGraph g;
  private String relEmbeddings;
  private String c2pIndex;
  private String p2cIndex;

  private DebertaV2Onnx(DebertaV2Dims d, EncoderOnnx b) {
    this.d = d;
    this.b = b;
    this.g = b.builder();
  }

  /** The graph of {@code config} with {@code weights} ({@code deberta.*} or bare names); refuses a missing head. */
  static GraphProto graph(HfConfig config, Map<String, Safetensors.Tensor> weights) {
    DebertaV2Dims d = DebertaV2Dims.of(config);
    EncoderOnnx b = new EncoderOnnx("textspark_deberta_v2_classifier", new EncoderOnnx.Source(
        DebertaV2Classifier.parameterShapes(d, config.numLabels()),
        name -> EncoderClassifier.withOrWithoutPrefix(weights, name, PREFIX),
        name -> name.startsWith("classifier.") || name.startsWith("pooler.")));
    return new DebertaV2Onnx(d, b).build(config.numLabels());
  }

  private GraphProto build(int numLabels) {
    EncoderDims base = d.base();
    String ids = b.input(EncoderOnnx.INPUT_IDS);
    String mask = b.input(EncoderOnnx.ATTENTION_MASK);
    String positionIds = b.positionIds(ids);

    String sum = b.embed(E + "word_embeddings.weight", ids);
    if (base.typeVocabSize() > 0) {
      sum = b.add(sum, b.row(E + "token_type_embeddings.weight", 0));
    }
    if (d.positionBiasedInput()) {
      sum = b.add(sum, b.embed(E + "position_embeddings.weight", positionIds));
    }
    if (base.embeddingSize() != base.hiddenSize()) {
      sum = b.dense(sum, E + "embed_proj");
    }
    String normed = b.layerNorm(sum, E + "LayerNorm", base.layerNormEps());
    // As Hugging Face and DebertaV2Classifier: the embeddings of padding are zeroed.
    String keep = g.node("Cast", List.of(g.node("Unsqueeze", List.of(mask, b.longs("two", 2)))), attr("to", FLOAT));
    String hidden = g.node("Mul", List.of(normed, keep));
    String additiveMask = b.additiveMask(mask);
    if (d.relativeAttention()) {
      relativePositions(ids, positionIds);
    }

    EncoderOnnx.Layers layers = new EncoderOnnx.Layers(PREFIX + "encoder.layer.", base.numHiddenLayers(), NAMES,
        base.hiddenSize(), base.layerSettings());
    String first = b.firstToken(hidden, layers, (x, queries, p) -> attention(x, additiveMask, p), false);
    b.head(first, "pooler.dense", d.poolerAct(), "classifier", numLabels);
    return b.graph();
  }

  /**
   * The (normalised) relative-position embeddings [1, 2 span, hidden] and the c2p and p2c indices
   * into them, as {@link DebertaV2Classifier} computes them, broadcast to [batch, heads, sequence,
   * sequence] as GatherElements needs.
   */
  private void relativePositions(String ids, String positionIds) {
    String rel = b.weight(PREFIX + "encoder.rel_embeddings.weight");
    if (d.normRelEmbedding()) {
      rel = b.layerNorm(rel, PREFIX + "encoder.LayerNorm", d.base().layerNormEps());
    }
    relEmbeddings = g.node("Unsqueeze", List.of(rel, b.longs("zero", 0)));
    String tokens = g.node("Gather", List.of(positionIds, b.longScalar("long_zero", 0)), attr("axis", 0L));
    String relative = g.node("Sub", List.of(g.node("Unsqueeze", List.of(tokens, b.longs("one", 1))),
        g.node("Unsqueeze", List.of(tokens, b.longs("zero", 0)))));
    if (d.positionBuckets() > 0 && d.maxRelativePositions() > 0) {
      relative = logBuckets(relative);
    }
    int span = d.span();
    String low = b.longScalar("long_zero", 0);
    String high = b.longScalar("span_top", 2L * span - 1);
    String spanConstant = b.longScalar("span", span);
    // Broadcast to [batch, heads, sequence, sequence] by adding zeros of [batch, heads, 1, 1] (not by an
    // Expand to a computed shape): shape inference keeps the symbolic axes, and ONNX Runtime its fusions.
    String zeros = b.add(g.node("Unsqueeze", List.of(g.node("Mul", List.of(g.node("Gather", List.of(ids,
        b.longs("first_token", 0)), attr("axis", 1L)), b.longScalar("long_zero", 0))), b.longs("two_three", 2, 3))),
        g.int64s("zero_per_head", new long[d.base().numAttentionHeads()], 1, d.base().numAttentionHeads(), 1, 1));
    c2pIndex = b.add(zeros, g.node("Clip", List.of(b.add(relative, spanConstant), low, high)));
    p2cIndex = b.add(zeros, g.node("Clip", List.of(b.add(g.node("Neg", List.of(relative)), spanConstant), low, high)));
  }

  /** Hugging Face's {@code make_log_bucket_position} in float32 ops, in DebertaV2Classifier's order. */
  private String logBuckets(String relative) {
    int mid = d.positionBuckets() / 2;
    String relFloat = g.node("Cast", List.of(relative), attr("to", FLOAT));
    String inside = g.node("And", List.of(g.node("Less", List.of(relative, b.longScalar("bucket_mid", mid))),
        g.node("Greater", List.of(relative, b.longScalar("bucket_minus_mid", -mid)))));
    String absPos = g.node("Where", List.of(inside, b.floatScalar("bucket_mid_less_one", mid - 1),
        g.node("Cast", List.of(g.node("Abs", List.of(relative))), attr("to", FLOAT))));
    String midFloat = b.floatScalar("bucket_mid_float", mid);
    String ratio = g.node("Div", List.of(absPos, midFloat));
    float denominator = (float) Math.log((float) ((d.maxRelativePositions() - 1) / (double) mid));
    String scaled = g.node("Mul", List.of(g.node("Div", List.of(g.node("Log", List.of(ratio)),
        b.floatScalar("bucket_log_denominator", denominator))), b.floatScalar("bucket_mid_less_one", mid - 1)));
    String logPos = b.add(g.node("Ceil", List.of(scaled)), midFloat);
    String signed = g.node("Mul", List.of(logPos,
        g.node("Cast", List.of(g.node("Sign", List.of(relative))), attr("to", FLOAT))));
    // Greater with the branches swapped, not LessOrEqual: ONNX Runtime infers no shape for the latter
    // (a function op), and would lose the symbolic axes and its fusions downstream.
    String bucketed = g.node("Where", List.of(g.node("Greater", List.of(absPos, midFloat)), signed, relFloat));
    return g.node("Cast", List.of(bucketed), attr("to", INT64));
  }

  /** Disentangled self-attention of x over itself in the layer at {@code p}: the context [batch, tokens, hidden]. */
  private String attention(String x, String additiveMask, String p) {
    int heads = d.base().numAttentionHeads();
    int hidden = d.base().hiddenSize();
    int headDim = hidden / heads;
    float inverseScale = (float) (1.0 / Math.sqrt(headDim * (double) d.scaleFactor()));
    String inverse = b.floatScalar("inverse_scale", inverseScale);
    String query = b.splitHeads(b.dense(x, p + NAMES.modules().get(0)), heads, headDim, false);
    String keyProjected = b.dense(x, p + NAMES.modules().get(1));
    String value = b.splitHeads(b.dense(x, p + NAMES.modules().get(2)), heads, headDim, false);
    String content = g.node("MatMul", List.of(query, b.splitHeads(keyProjected, heads, headDim, true)));
    String scores = g.node("Mul", List.of(content, inverse));
    if (relEmbeddings != null && (d.c2p() || d.p2c())) {
      if (d.c2p()) {
        String posKeyT = b.splitHeads(projection(p, "key", "pos_key_proj"), heads, headDim, true);
        String c2p = g.node("GatherElements", List.of(g.node("MatMul", List.of(query, posKeyT)), c2pIndex),
            attr("axis", 3L));
        scores = b.add(scores, g.node("Mul", List.of(c2p, inverse)));
      }
      if (d.p2c()) {
        String key = b.splitHeads(keyProjected, heads, headDim, false);
        String posQueryT = b.splitHeads(projection(p, "query", "pos_query_proj"), heads, headDim, true);
        String p2c = g.node("GatherElements", List.of(g.node("MatMul", List.of(key, posQueryT)), p2cIndex),
            attr("axis", 3L));
        scores = b.add(scores, g.node("Mul", List.of(b.transpose(p2c, 0, 1, 3, 2), inverse)));
      }
    }
    String probs = g.node("Softmax", List.of(b.add(scores, additiveMask)), attr("axis", 3L));
    return b.mergeHeads(g.node("MatMul", List.of(probs, value)), hidden);
  }

  /** The relative embeddings through the layer's shared content projection or its own position projection. */
  private String projection(String p, String shared, String own) {
    return b.dense(relEmbeddings, d.shareAttKey() ? p + "attention.self." + shared + "_proj" : p + "attention.self." + own);
  }
}
