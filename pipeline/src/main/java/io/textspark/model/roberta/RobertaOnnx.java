package io.textspark.model.roberta;

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
 * The ONNX graph of a {@link RobertaClassifier}, built with {@link io.textspark.model.EncoderOnnx}:
 * positions numbered from {@code pad_token_id + 1} over the non-pad tokens (pad tokens get {@code
 * pad_token_id}), token type 0 everywhere (its row an initializer of its own), BERT's post-LN layers
 * and the head (dense, tanh, {@code out_proj}) on the first token. Inputs {@code input_ids} and
 * {@code attention_mask}: RoBERTa has no token types to feed.
 */
final class RobertaOnnx {
  private static final String PREFIX = "roberta.";

  private RobertaOnnx() {}

  /** The graph of {@code config} with {@code weights} ({@code roberta.*} or bare names); refuses a missing head. */
  static GraphProto graph(HfConfig config, Map<String, Safetensors.Tensor> weights) {
    EncoderDims d = EncoderDims.of(config, 1);
    EncoderOnnx b = new EncoderOnnx("textspark_roberta_classifier", new EncoderOnnx.Source(
        RobertaClassifier.parameterShapes(d, config.numLabels()),
        name -> EncoderClassifier.withOrWithoutPrefix(weights, name, PREFIX), name -> name.startsWith("classifier.")));
    String ids = b.input(EncoderOnnx.INPUT_IDS);
    String mask = b.input(EncoderOnnx.ATTENTION_MASK);

    String words = b.embed(PREFIX + "embeddings.word_embeddings.weight", ids);
    String positions = b.embed(PREFIX + "embeddings.position_embeddings.weight", positionIds(b, ids, d.padTokenId()));
    String tokenType = b.row(PREFIX + "embeddings.token_type_embeddings.weight", 0);
    // The broadcast type row is added first, so that the Add before the LayerNorm has two [batch,
    // sequence, hidden] operands, the shape ONNX Runtime fuses into SkipLayerNormalization.
    String hidden = b.layerNorm(b.add(b.add(words, tokenType), positions), PREFIX + "embeddings.LayerNorm",
        d.layerNormEps());

    EncoderOnnx.Layers layers = new EncoderOnnx.Layers(PREFIX + "encoder.layer.", d.numHiddenLayers(),
        EncoderLayer.Names.BERT, d.hiddenSize(), d.layerSettings());
    String first = b.firstToken(hidden, b.additiveMask(mask), layers);
    b.head(first, "classifier.dense", "tanh", "classifier.out_proj", config.numLabels());
    return b.graph();
  }

  /**
   * As Hugging Face's {@code create_position_ids_from_input_ids} and {@link RobertaClassifier}: the
   * running count of non-pad tokens, zero on pads, plus the pad id.
   */
  private static String positionIds(EncoderOnnx b, String ids, int padTokenId) {
    OnnxGraph g = b.builder();
    String pad = b.longScalar("pad_token_id", padTokenId);
    String notPad = g.node("Cast", List.of(g.node("Not", List.of(g.node("Equal", List.of(ids, pad))))),
        attr("to", (long) TensorProto.DataType.INT64.getNumber()));
    String counted = g.node("CumSum", List.of(notPad, b.longScalar("long_one", 1)));
    return b.add(g.node("Mul", List.of(counted, notPad)), pad);
  }
}
