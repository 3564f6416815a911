package io.textspark.model.bert;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ConfigJson;
import java.util.HashSet;
import java.util.List;

/**
 * The architecture of a BERT classifier, as read from a Hugging Face {@code config.json}. Keys
 * missing from the file take the Hugging Face {@code BertConfig} defaults; the classification
 * labels default to {@code 0 -> unacceptable, 1 -> acceptable} (CoLA).
 *
 * @param hiddenSize width of every token vector ({@code hidden_size})
 * @param numHiddenLayers number of transformer layers ({@code num_hidden_layers})
 * @param numAttentionHeads attention heads per layer ({@code num_attention_heads})
 * @param intermediateSize width of the feed-forward layer ({@code intermediate_size})
 * @param hiddenAct feed-forward activation ({@code hidden_act}); only {@code gelu} (erf) is
 *     supported
 * @param hiddenDropoutProb dropout on embeddings, layer outputs and the head ({@code
 *     hidden_dropout_prob})
 * @param attentionProbsDropoutProb dropout on attention probabilities ({@code
 *     attention_probs_dropout_prob})
 * @param maxPositionEmbeddings longest supported sequence ({@code max_position_embeddings})
 * @param typeVocabSize number of token types ({@code type_vocab_size})
 * @param vocabSize number of word pieces ({@code vocab_size})
 * @param layerNormEps LayerNorm epsilon ({@code layer_norm_eps})
 * @param padTokenId id of the padding token ({@code pad_token_id})
 * @param initializerRange standard deviation of fresh weights ({@code initializer_range})
 * @param labels label names indexed by class id ({@code id2label})
 */
public record BertConfig(
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int intermediateSize,
    String hiddenAct,
    double hiddenDropoutProb,
    double attentionProbsDropoutProb,
    int maxPositionEmbeddings,
    int typeVocabSize,
    int vocabSize,
    double layerNormEps,
    int padTokenId,
    double initializerRange,
    List<String> labels)
    implements ClassifierConfig {

  /** The {@code model_type} of BERT-family checkpoints in {@code config.json}. */
  public static final String MODEL_TYPE = "bert";

  /** The labels used when the config names none: the CoLA acceptability classes. */
  public static final List<String> DEFAULT_LABELS = ConfigJson.DEFAULT_LABELS;

  /** Validates every field; messages name the config.json key, its value and what is allowed. */
  public BertConfig {
    positive("hidden_size", hiddenSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("intermediate_size", intermediateSize);
    positive("max_position_embeddings", maxPositionEmbeddings);
    positive("type_vocab_size", typeVocabSize);
    positive("vocab_size", vocabSize);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new TextSparkException(
          "config.json: hidden_size = "
              + hiddenSize
              + " is not divisible by num_attention_heads = "
              + numAttentionHeads
              + "; allowed: a number of heads that divides hidden_size.");
    }
    if (!"gelu".equals(hiddenAct)) {
      throw new TextSparkException(
          "config.json: hidden_act = \"" + hiddenAct + "\" is not supported; allowed: \"gelu\".");
    }
    probability("hidden_dropout_prob", hiddenDropoutProb);
    probability("attention_probs_dropout_prob", attentionProbsDropoutProb);
    if (!(layerNormEps > 0 && layerNormEps < 1)) {
      throw new TextSparkException(
          "config.json: layer_norm_eps = " + layerNormEps + " is invalid; allowed: 0 < eps < 1.");
    }
    if (padTokenId < 0 || padTokenId >= vocabSize) {
      throw new TextSparkException(
          "config.json: pad_token_id = "
              + padTokenId
              + " is invalid; allowed: 0.."
              + (vocabSize - 1)
              + " (below vocab_size).");
    }
    if (!(initializerRange > 0)) {
      throw new TextSparkException(
          "config.json: initializer_range = " + initializerRange + " is invalid; allowed: > 0.");
    }
    if (labels == null || labels.isEmpty()) {
      throw new TextSparkException(
          "config.json: id2label is empty; allowed: at least one label, for example {\"0\": \"no\","
              + " \"1\": \"yes\"}.");
    }
    if (new HashSet<>(labels).size() != labels.size()) {
      throw new TextSparkException(
          "config.json: id2label = " + labels + " repeats a label; allowed: distinct label names.");
    }
    labels = List.copyOf(labels);
  }

  /** Always {@value #MODEL_TYPE}. */
  @Override
  public String modelType() {
    return MODEL_TYPE;
  }

  /** The number of classes the head predicts, the size of {@link #labels()}. */
  @Override
  public int numLabels() {
    return labels.size();
  }

  /** Layers and hidden size, for example {@code 6 layers, hidden 384}. */
  @Override
  public String describe() {
    return numHiddenLayers + " layers, hidden " + hiddenSize;
  }

  /** The width of one attention head, {@code hidden_size / num_attention_heads}. */
  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** The same architecture with other class labels (the head is sized by their number). */
  @Override
  public BertConfig withLabels(List<String> newLabels) {
    return new BertConfig(
        hiddenSize,
        numHiddenLayers,
        numAttentionHeads,
        intermediateSize,
        hiddenAct,
        hiddenDropoutProb,
        attentionProbsDropoutProb,
        maxPositionEmbeddings,
        typeVocabSize,
        vocabSize,
        layerNormEps,
        padTokenId,
        initializerRange,
        newLabels);
  }

  /**
   * The same architecture with {@code hidden_dropout_prob} and {@code attention_probs_dropout_prob}
   * both set to {@code dropout}, or this config unchanged when {@code dropout} is negative.
   */
  @Override
  public BertConfig withDropout(double dropout) {
    if (dropout < 0) {
      return this;
    }
    return new BertConfig(
        hiddenSize,
        numHiddenLayers,
        numAttentionHeads,
        intermediateSize,
        hiddenAct,
        dropout,
        dropout,
        maxPositionEmbeddings,
        typeVocabSize,
        vocabSize,
        layerNormEps,
        padTokenId,
        initializerRange,
        labels);
  }

  /** Parses a Hugging Face {@code config.json}; {@code source} names the file in errors. */
  public static BertConfig parse(String json, String source) {
    JsonObject o;
    try {
      JsonElement parsed = JsonParser.parseString(json);
      if (!parsed.isJsonObject()) {
        throw new TextSparkException(
            source + " is not a JSON object; expected a Hugging Face config.json.");
      }
      o = parsed.getAsJsonObject();
    } catch (JsonParseException e) {
      throw new TextSparkException(
          source
              + " is not valid JSON ("
              + e.getMessage()
              + "); expected a Hugging Face config.json.",
          e);
    }
    if (o.has("model_type") && !MODEL_TYPE.equals(string(o, "model_type", MODEL_TYPE, source))) {
      throw new TextSparkException(
          source
              + ": model_type = \""
              + o.get("model_type").getAsString()
              + "\" is not supported; allowed: \"bert\" (BERT-family checkpoints such as MiniLM).");
    }
    return new BertConfig(
        ConfigJson.integer(o, "hidden_size", 768, source),
        ConfigJson.integer(o, "num_hidden_layers", 12, source),
        ConfigJson.integer(o, "num_attention_heads", 12, source),
        ConfigJson.integer(o, "intermediate_size", 3072, source),
        string(o, "hidden_act", "gelu", source),
        ConfigJson.number(o, "hidden_dropout_prob", 0.1, source),
        ConfigJson.number(o, "attention_probs_dropout_prob", 0.1, source),
        ConfigJson.integer(o, "max_position_embeddings", 512, source),
        ConfigJson.integer(o, "type_vocab_size", 2, source),
        ConfigJson.integer(o, "vocab_size", 30522, source),
        ConfigJson.number(o, "layer_norm_eps", 1e-12, source),
        ConfigJson.integer(o, "pad_token_id", 0, source),
        ConfigJson.number(o, "initializer_range", 0.02, source),
        labels(o, source));
  }

  /** Parses a Hugging Face {@code config.json}. */
  public static BertConfig parse(String json) {
    return parse(json, "config.json");
  }

  /**
   * An HF-compatible {@code config.json} for {@code BertForSequenceClassification}, so that a
   * fine-tuned checkpoint loads with {@code AutoModelForSequenceClassification}.
   */
  @Override
  public String toJson() {
    JsonObject o = new JsonObject();
    JsonArray architectures = new JsonArray();
    architectures.add("BertForSequenceClassification");
    o.add("architectures", architectures);
    o.addProperty("model_type", MODEL_TYPE);
    o.addProperty("hidden_size", hiddenSize);
    o.addProperty("num_hidden_layers", numHiddenLayers);
    o.addProperty("num_attention_heads", numAttentionHeads);
    o.addProperty("intermediate_size", intermediateSize);
    o.addProperty("hidden_act", hiddenAct);
    o.addProperty("hidden_dropout_prob", hiddenDropoutProb);
    o.addProperty("attention_probs_dropout_prob", attentionProbsDropoutProb);
    o.addProperty("max_position_embeddings", maxPositionEmbeddings);
    o.addProperty("type_vocab_size", typeVocabSize);
    o.addProperty("vocab_size", vocabSize);
    o.addProperty("layer_norm_eps", layerNormEps);
    o.addProperty("pad_token_id", padTokenId);
    o.addProperty("initializer_range", initializerRange);
    o.addProperty("position_embedding_type", "absolute");
    o.addProperty("num_labels", labels.size());
    JsonObject id2label = new JsonObject();
    JsonObject label2id = new JsonObject();
    for (int i = 0; i < labels.size(); i++) {
      id2label.addProperty(Integer.toString(i), labels.get(i));
      label2id.addProperty(labels.get(i), i);
    }
    o.add("id2label", id2label);
    o.add("label2id", label2id);
    o.addProperty("problem_type", "single_label_classification");
    return new GsonBuilder().setPrettyPrinting().create().toJson(o) + "\n";
  }

  private static List<String> labels(JsonObject o, String source) {
    return ConfigJson.labels(o, source);
  }

  private static String string(JsonObject o, String key, String fallback, String source) {
    return ConfigJson.string(o, key, fallback, source);
  }

  private static void positive(String key, int value) {
    if (value <= 0) {
      throw new TextSparkException(
          "config.json: " + key + " = " + value + " is invalid; allowed: > 0.");
    }
  }

  private static void probability(String key, double value) {
    if (!(value >= 0 && value < 1)) {
      throw new TextSparkException(
          "config.json: " + key + " = " + value + " is invalid; allowed: 0 <= p < 1.");
    }
  }
}
