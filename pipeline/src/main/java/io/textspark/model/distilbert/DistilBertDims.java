package io.textspark.model.distilbert;

import io.textspark.TextSparkException;
import io.textspark.model.ConfigJson;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOps;
import io.textspark.model.HfConfig;

/**
 * DistilBERT's architecture numbers from its own {@code config.json} keys, with Hugging Face's
 * defaults; its layer norms always use epsilon 1e-12.
 *
 * @param dim hidden size ({@code dim})
 * @param layers {@code n_layers}
 * @param heads {@code n_heads}
 * @param hiddenDim feed-forward width ({@code hidden_dim})
 * @param activation {@code activation}
 * @param dropout {@code dropout}
 * @param attentionDropout {@code attention_dropout}
 * @param classifierDropout {@code seq_classif_dropout}
 * @param maxPositions {@code max_position_embeddings}
 * @param vocabSize {@code vocab_size}
 * @param padTokenId {@code pad_token_id}
 * @param initializerRange {@code initializer_range}
 */
record DistilBertDims(int dim, int layers, int heads, int hiddenDim, String activation, double dropout,
    double attentionDropout, double classifierDropout, int maxPositions, int vocabSize, int padTokenId,
    double initializerRange) {
  /** DistilBERT's fixed layer norm epsilon. */
  static final double EPS = 1e-12;

  static DistilBertDims of(HfConfig c) {
    DistilBertDims d = new DistilBertDims(c.integer("dim", 768), c.integer("n_layers", 6), c.integer("n_heads", 12),
        c.integer("hidden_dim", 3072), c.string("activation", "gelu"), c.number("dropout", 0.1),
        c.number("attention_dropout", 0.1), c.number("seq_classif_dropout", 0.2), c.maxPositionEmbeddings(),
        c.integer("vocab_size", 30522), c.padTokenId(), c.number("initializer_range", 0.02));
    String s = c.source();
    ConfigJson.positive(s, "dim", d.dim);
    ConfigJson.positive(s, "n_layers", d.layers);
    ConfigJson.positive(s, "n_heads", d.heads);
    ConfigJson.positive(s, "hidden_dim", d.hiddenDim);
    ConfigJson.positive(s, "max_position_embeddings", d.maxPositions);
    ConfigJson.positive(s, "vocab_size", d.vocabSize);
    if (d.dim % d.heads != 0) {
      throw new TextSparkException(s + ": dim = " + d.dim + " is not divisible by n_heads = " + d.heads
          + "; allowed: a number of heads that divides dim.");
    }
    EncoderOps.checkActivation(s, "activation", d.activation);
    ConfigJson.probability(s, "dropout", d.dropout);
    ConfigJson.probability(s, "attention_dropout", d.attentionDropout);
    ConfigJson.probability(s, "seq_classif_dropout", d.classifierDropout);
    if (d.padTokenId < 0 || d.padTokenId >= d.vocabSize) {
      throw new TextSparkException(s + ": pad_token_id = " + d.padTokenId + " is invalid; allowed: 0.."
          + (d.vocabSize - 1) + " (below vocab_size).");
    }
    return d;
  }

  /** A transformer block's settings: no dropout after the attention output, as in Hugging Face. */
  EncoderLayer.Settings layerSettings() {
    return new EncoderLayer.Settings(heads, EPS, activation, dropout, attentionDropout, false);
  }
}
