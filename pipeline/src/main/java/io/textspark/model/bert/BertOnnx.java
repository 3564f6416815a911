package io.textspark.model.bert;

import io.textspark.TextSparkException;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOnnx;
import io.textspark.model.Safetensors;
import io.textspark.onnx.proto.Onnx.GraphProto;
import java.util.List;
import java.util.Map;

/**
 * The ONNX graph of a {@link BertClassifier}, built with {@link EncoderOnnx}: word, position and
 * token type embeddings, BERT's post-LN layers (the last one for [CLS] only), the pooler (dense +
 * tanh) and the classifier on [CLS].
 *
 * <p>Inputs {@code input_ids}, {@code attention_mask} and {@code token_type_ids} (int64, [batch,
 * sequence]; feed zeros as token types for single sentences, as textspark does), output {@code
 * logits} (float, [batch, num_labels]).
 */
public final class BertOnnx {
  /** The graph inputs, in order. */
  public static final List<String> INPUTS =
      List.of(EncoderOnnx.INPUT_IDS, EncoderOnnx.ATTENTION_MASK, EncoderOnnx.TOKEN_TYPE_IDS);
  /** The graph output. */
  public static final String OUTPUT = EncoderOnnx.OUTPUT;

  private BertOnnx() {}

  /**
   * The graph of {@code config} with {@code weights} (Hugging Face names, with or without the
   * {@code bert.} prefix). Refuses weights without a pooler or classifier: textspark would score
   * such a model with a freshly drawn head, which an export cannot reproduce.
   *
   * @throws TextSparkException naming the tensor when one is missing or has the wrong shape
   */
  public static GraphProto graph(BertConfig config, Map<String, Safetensors.Tensor> weights) {
    EncoderOnnx b = new EncoderOnnx("textspark_bert_classifier", new EncoderOnnx.Source(
        BertClassifier.parameterShapes(config), name -> BertClassifier.lookup(weights, name),
        name -> name.startsWith("classifier.") || name.startsWith("bert.pooler.")));
    String ids = b.input(INPUTS.get(0));
    String mask = b.input(INPUTS.get(1));
    String types = b.input(INPUTS.get(2));

    String words = b.embed("bert.embeddings.word_embeddings.weight", ids);
    String positions = b.embed("bert.embeddings.position_embeddings.weight", b.positionIds(ids));
    String tokenTypes = b.embed("bert.embeddings.token_type_embeddings.weight", types);
    String hidden = b.layerNorm(b.add(b.add(words, positions), tokenTypes), "bert.embeddings.LayerNorm",
        config.layerNormEps());

    EncoderOnnx.Layers layers = new EncoderOnnx.Layers("bert.encoder.layer.", config.numHiddenLayers(),
        EncoderLayer.Names.BERT, config.hiddenSize(), new EncoderLayer.Settings(config.numAttentionHeads(),
            config.layerNormEps(), config.hiddenAct(), 0, 0, true));
    String cls = b.firstToken(hidden, b.additiveMask(mask), layers);
    b.head(cls, "bert.pooler.dense", "tanh", "classifier", config.numLabels());
    return b.graph();
  }
}
