package io.textspark.model;

import io.textspark.TextSparkException;

/**
 * The architecture numbers RoBERTa, ELECTRA and DeBERTa-v2 name with BERT's {@code config.json}
 * keys, read and validated once (Hugging Face's defaults for absent keys, as BERT's, except where a
 * family passes its own).
 *
 * @param hiddenSize {@code hidden_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param intermediateSize {@code intermediate_size}
 * @param hiddenAct {@code hidden_act}
 * @param hiddenDropout {@code hidden_dropout_prob}
 * @param attentionDropout {@code attention_probs_dropout_prob}
 * @param classifierDropout {@code classifier_dropout}, or {@code hidden_dropout_prob} when unset
 * @param maxPositions {@code max_position_embeddings}, the rows of the position table
 * @param typeVocabSize {@code type_vocab_size}
 * @param vocabSize {@code vocab_size}
 * @param embeddingSize {@code embedding_size}, {@code hidden_size} when unset
 * @param layerNormEps {@code layer_norm_eps}
 * @param padTokenId {@code pad_token_id}
 * @param initializerRange {@code initializer_range}
 */
public record EncoderDims(int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
    String hiddenAct, double hiddenDropout, double attentionDropout, double classifierDropout, int maxPositions,
    int typeVocabSize, int vocabSize, int embeddingSize, double layerNormEps, int padTokenId,
    double initializerRange) {

  /** The BERT-style keys of {@code c}, validated; {@code typeVocabDefault} is the family's default. */
  public static EncoderDims of(HfConfig c, int typeVocabDefault) {
    return of(c, typeVocabDefault, 1e-12);
  }

  /** The BERT-style keys of {@code c}, validated, with the family's defaults of two keys. */
  public static EncoderDims of(HfConfig c, int typeVocabDefault, double layerNormEpsDefault) {
    int hidden = c.integer("hidden_size", 768);
    double hiddenDropout = c.number("hidden_dropout_prob", 0.1);
    EncoderDims d = new EncoderDims(hidden, c.integer("num_hidden_layers", 12), c.integer("num_attention_heads", 12),
        c.integer("intermediate_size", 3072), c.string("hidden_act", "gelu"), hiddenDropout,
        c.number("attention_probs_dropout_prob", 0.1), c.number("classifier_dropout", hiddenDropout),
        c.integer("max_position_embeddings", c.spec().maxPositionsDefault()), c.integer("type_vocab_size", typeVocabDefault), c.integer("vocab_size", 30522),
        c.integer("embedding_size", hidden), c.number("layer_norm_eps", layerNormEpsDefault), c.padTokenId(),
        c.number("initializer_range", 0.02));
    d.validate(c.source());
    return d;
  }

  private void validate(String source) {
    ConfigJson.positive(source, "hidden_size", hiddenSize);
    ConfigJson.positive(source, "num_hidden_layers", numHiddenLayers);
    ConfigJson.positive(source, "num_attention_heads", numAttentionHeads);
    ConfigJson.positive(source, "intermediate_size", intermediateSize);
    ConfigJson.positive(source, "max_position_embeddings", maxPositions);
    ConfigJson.positive(source, "vocab_size", vocabSize);
    ConfigJson.positive(source, "embedding_size", embeddingSize);
    if (typeVocabSize < 0) {
      throw new TextSparkException(source + ": type_vocab_size = " + typeVocabSize + " is invalid; allowed: >= 0.");
    }
    if (hiddenSize % numAttentionHeads != 0) {
      throw new TextSparkException(source + ": hidden_size = " + hiddenSize + " is not divisible by"
          + " num_attention_heads = " + numAttentionHeads + "; allowed: a number of heads that divides hidden_size.");
    }
    EncoderOps.checkActivation(source, "hidden_act", hiddenAct);
    ConfigJson.probability(source, "hidden_dropout_prob", hiddenDropout);
    ConfigJson.probability(source, "attention_probs_dropout_prob", attentionDropout);
    ConfigJson.probability(source, "classifier_dropout", classifierDropout);
    if (!(layerNormEps > 0 && layerNormEps < 1)) {
      throw new TextSparkException(source + ": layer_norm_eps = " + layerNormEps + " is invalid; allowed: 0 < eps < 1.");
    }
    if (padTokenId < 0 || padTokenId >= vocabSize) {
      throw new TextSparkException(source + ": pad_token_id = " + padTokenId + " is invalid; allowed: 0.."
          + (vocabSize - 1) + " (below vocab_size).");
    }
    if (!(initializerRange > 0)) {
      throw new TextSparkException(
          source + ": initializer_range = " + initializerRange + " is invalid; allowed: > 0.");
    }
  }

  /** The settings of a post-LN layer of these dimensions. */
  public EncoderLayer.Settings layerSettings() {
    return new EncoderLayer.Settings(numAttentionHeads, layerNormEps, hiddenAct, hiddenDropout, attentionDropout, true);
  }
}
