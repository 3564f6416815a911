package io.textspark.model;

import java.util.List;

/**
 * What training, evaluation and scoring need to know of a classifier's architecture, whatever its
 * family: the labels of its head, the longest input it takes, its padding token, and how to write
 * it back as a Hugging Face {@code config.json}. Each family's config (for example {@code
 * BertConfig}) implements it and keeps its own architecture details to itself.
 */
public interface ClassifierConfig {

  /** The Hugging Face {@code model_type} that {@link ModelFamilies} chooses the family by, e.g. {@code bert}. */
  String modelType();

  /** The label names indexed by class id ({@code id2label}). */
  List<String> labels();

  /** The number of classes the head predicts, the size of {@link #labels()}. */
  default int numLabels() {
    return labels().size();
  }

  /** The longest supported sequence in tokens ({@code max_position_embeddings}). */
  int maxPositionEmbeddings();

  /** The id of the padding token ({@code pad_token_id}), which batches are padded with. */
  int padTokenId();

  /** The same architecture with other class labels (the head is sized by their number). */
  ClassifierConfig withLabels(List<String> labels);

  /**
   * The same architecture with every dropout probability of the family set to {@code dropout};
   * {@code -1} (any negative value) keeps the config's own, as {@code train.dropout = -1} means.
   */
  ClassifierConfig withDropout(double dropout);

  /**
   * A Hugging Face {@code config.json} for this classifier, with {@code architectures} (e.g.
   * {@code BertForSequenceClassification}), {@code model_type}, {@code id2label} and {@code
   * label2id}, so that a checkpoint loads with {@code AutoModelForSequenceClassification}.
   */
  String toJson();

  /** The architecture's size in a few words for log lines, for example {@code 6 layers, hidden 384}. */
  String describe();
}
