package io.textspark.model.distilbert;

import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderOnnx;
import io.textspark.model.HfConfig;
import io.textspark.model.Safetensors;
import io.textspark.onnx.proto.Onnx.GraphProto;
import java.util.Map;

/**
 * The ONNX graph of a {@link DistilBertClassifier}, built with {@link io.textspark.model.EncoderOnnx}:
 * word and position embeddings, the post-LN transformer blocks under DistilBERT's names with the
 * activation of its config, and the head ({@code pre_classifier}, ReLU, {@code classifier}) on the
 * first token. Inputs {@code input_ids} and {@code attention_mask}: DistilBERT has no token types.
 */
final class DistilBertOnnx {
  private static final String PREFIX = "distilbert.";

  private DistilBertOnnx() {}

  /** The graph of {@code config} with {@code weights} ({@code distilbert.*} or bare names); refuses a missing head. */
  static GraphProto graph(HfConfig config, Map<String, Safetensors.Tensor> weights) {
    DistilBertDims d = DistilBertDims.of(config);
    EncoderOnnx b = new EncoderOnnx("textspark_distilbert_classifier", new EncoderOnnx.Source(
        DistilBertClassifier.parameterShapes(d, config.numLabels()),
        name -> EncoderClassifier.withOrWithoutPrefix(weights, name, PREFIX),
        name -> name.startsWith("classifier.") || name.startsWith("pre_classifier.")));
    String ids = b.input(EncoderOnnx.INPUT_IDS);
    String mask = b.input(EncoderOnnx.ATTENTION_MASK);

    String words = b.embed(PREFIX + "embeddings.word_embeddings.weight", ids);
    String positions = b.embed(PREFIX + "embeddings.position_embeddings.weight", b.positionIds(ids));
    String hidden = b.layerNorm(b.add(words, positions), PREFIX + "embeddings.LayerNorm", DistilBertDims.EPS);

    EncoderOnnx.Layers layers = new EncoderOnnx.Layers(PREFIX + "transformer.layer.", d.layers(),
        DistilBertClassifier.NAMES, d.dim(), d.layerSettings());
    String first = b.firstToken(hidden, b.additiveMask(mask), layers);
    b.head(first, "pre_classifier", "relu", "classifier", config.numLabels());
    return b.graph();
  }
}
