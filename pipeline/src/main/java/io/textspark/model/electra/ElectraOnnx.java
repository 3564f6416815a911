package io.textspark.model.electra;

import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderDims;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOnnx;
import io.textspark.model.HfConfig;
import io.textspark.model.Safetensors;
import io.textspark.onnx.proto.Onnx.GraphProto;
import java.util.Map;

/**
 * The ONNX graph of an {@link ElectraClassifier}, built with {@link io.textspark.model.EncoderOnnx}:
 * word, position and token type embeddings of {@code embedding_size} normalised, projected to {@code
 * hidden_size} by {@code embeddings_project} when the two differ, BERT's post-LN layers, and the head
 * (dense, GELU, {@code out_proj}) on the first token. Inputs {@code input_ids}, {@code
 * attention_mask} and {@code token_type_ids} (ELECTRA has token types; textspark feeds zeros).
 */
final class ElectraOnnx {
  private static final String PREFIX = "electra.";

  private ElectraOnnx() {}

  /** The graph of {@code config} with {@code weights} ({@code electra.*} or bare names); refuses a missing head. */
  static GraphProto graph(HfConfig config, Map<String, Safetensors.Tensor> weights) {
    EncoderDims d = EncoderDims.of(config, 2);
    EncoderOnnx b = new EncoderOnnx("textspark_electra_classifier", new EncoderOnnx.Source(
        ElectraClassifier.parameterShapes(d, config.numLabels()),
        name -> EncoderClassifier.withOrWithoutPrefix(weights, name, PREFIX), name -> name.startsWith("classifier.")));
    String ids = b.input(EncoderOnnx.INPUT_IDS);
    String mask = b.input(EncoderOnnx.ATTENTION_MASK);
    String types = b.input(EncoderOnnx.TOKEN_TYPE_IDS);

    String words = b.embed(PREFIX + "embeddings.word_embeddings.weight", ids);
    String positions = b.embed(PREFIX + "embeddings.position_embeddings.weight", b.positionIds(ids));
    String tokenTypes = b.embed(PREFIX + "embeddings.token_type_embeddings.weight", types);
    String hidden = b.layerNorm(b.add(b.add(words, positions), tokenTypes), PREFIX + "embeddings.LayerNorm",
        d.layerNormEps());
    if (d.embeddingSize() != d.hiddenSize()) {
      hidden = b.dense(hidden, PREFIX + "embeddings_project");
    }

    EncoderOnnx.Layers layers = new EncoderOnnx.Layers(PREFIX + "encoder.layer.", d.numHiddenLayers(),
        EncoderLayer.Names.BERT, d.hiddenSize(), d.layerSettings());
    String first = b.firstToken(hidden, b.additiveMask(mask), layers);
    b.head(first, "classifier.dense", "gelu", "classifier.out_proj", config.numLabels());
    return b.graph();
  }
}
