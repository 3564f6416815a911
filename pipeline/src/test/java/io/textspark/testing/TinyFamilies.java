package io.textspark.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.model.HfConfig;
import io.textspark.model.ModelFamilies;
import io.textspark.model.Safetensors;
import io.textspark.model.debertav2.DebertaV2Classifier;
import io.textspark.model.distilbert.DistilBertClassifier;
import io.textspark.model.electra.ElectraClassifier;
import io.textspark.model.roberta.RobertaClassifier;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Tiny random checkpoints of the non-BERT families under Hugging Face names (2 layers, hidden 32),
 * with a tokenizer of the family's kind: a byte-level BPE for RoBERTa, a SentencePiece-style
 * Unigram for DeBERTa-v2, and the mirrored MiniLM WordPiece for DistilBERT and ELECTRA.
 */
public final class TinyFamilies {
  /** The families this class makes checkpoints of, by {@code model_type}. */
  public static final List<String> FAMILIES = List.of("roberta", "distilbert", "electra", "deberta-v2");

  /** Words the tiny BPE and Unigram vocabularies know whole. */
  private static final List<String> WORDS = List.of("the", "cat", "sat", "on", "mat", "dog", "ran", "a", "is",
      "book", "students", "sent", "read");

  private TinyFamilies() {}

  /** The {@code config.json} of a tiny model of {@code modelType}, with {@code overrides} applied. */
  public static JsonObject config(String modelType, String overrides) {
    String json = switch (modelType) {
      case "roberta" -> "{\"model_type\": \"roberta\", \"vocab_size\": " + bpeVocab().size() + ", \"hidden_size\": 32,"
          + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 64,"
          + " \"max_position_embeddings\": 40, \"type_vocab_size\": 1, \"pad_token_id\": 1, \"bos_token_id\": 0,"
          + " \"eos_token_id\": 2, \"layer_norm_eps\": 1e-05, \"hidden_act\": \"gelu\"}";
      case "distilbert" -> "{\"model_type\": \"distilbert\", \"vocab_size\": 30522, \"dim\": 32, \"n_layers\": 2,"
          + " \"n_heads\": 4, \"hidden_dim\": 64, \"max_position_embeddings\": 64, \"activation\": \"gelu\","
          + " \"seq_classif_dropout\": 0.2, \"pad_token_id\": 0}";
      case "electra" -> "{\"model_type\": \"electra\", \"vocab_size\": 30522, \"embedding_size\": 16,"
          + " \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 64,"
          + " \"max_position_embeddings\": 64, \"type_vocab_size\": 2, \"pad_token_id\": 0}";
      case "deberta-v2" -> "{\"model_type\": \"deberta-v2\", \"vocab_size\": " + unigramVocab().size() + ","
          + " \"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 64,"
          + " \"max_position_embeddings\": 64, \"type_vocab_size\": 0, \"pad_token_id\": 0,"
          + " \"layer_norm_eps\": 1e-07, \"relative_attention\": true, \"max_relative_positions\": -1,"
          + " \"position_buckets\": 8, \"pos_att_type\": [\"p2c\", \"c2p\"], \"share_att_key\": true,"
          + " \"norm_rel_ebd\": \"layer_norm\", \"position_biased_input\": false, \"pooler_hidden_size\": 32,"
          + " \"pooler_dropout\": 0, \"pooler_hidden_act\": \"gelu\"}";
      default -> throw new IllegalArgumentException(modelType);
    };
    JsonObject o = JsonParser.parseString(json).getAsJsonObject();
    if (overrides != null) {
      JsonParser.parseString(overrides).getAsJsonObject().entrySet().forEach(e -> o.add(e.getKey(), e.getValue()));
    }
    return o;
  }

  /** The parsed config of {@link #config}. */
  public static HfConfig parsed(String modelType, String overrides) {
    return (HfConfig) ModelFamilies.parseConfig(config(modelType, overrides).toString(), "tiny-" + modelType,
        "tiny-" + modelType + "/config.json");
  }

  /** The name of every parameter of {@code config}'s classifier with its shape. */
  public static Map<String, long[]> shapes(HfConfig config) {
    return switch (config.modelType()) {
      case "roberta" -> RobertaClassifier.parameterShapes(config);
      case "distilbert" -> DistilBertClassifier.parameterShapes(config);
      case "electra" -> ElectraClassifier.parameterShapes(config);
      case "deberta-v2" -> DebertaV2Classifier.parameterShapes(config);
      default -> throw new IllegalArgumentException(config.modelType());
    };
  }

  /**
   * Seeded random weights: matrices normal(0, 0.2), layer norm gains 1 + normal(0, 0.1), biases
   * normal(0, 0.1). Without {@code head} the family's head tensors are left out (a base model);
   * without {@code prefixed} the family prefix is stripped, as bare {@code *Model} checkpoints name them.
   */
  public static Map<String, Safetensors.Tensor> weights(HfConfig config, long seed, boolean head, boolean prefixed) {
    List<String> headNames = ModelFamilies.of(config).trainedHeadTensors();
    String prefix = switch (config.modelType()) {
      case "deberta-v2" -> "deberta.";
      default -> config.modelType() + ".";
    };
    Map<String, Safetensors.Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : shapes(config).entrySet()) {
      String name = e.getKey();
      if (!head && headNames.contains(name)) {
        continue;
      }
      int n = (int) Safetensors.elementCount(e.getValue());
      float[] v = new float[n];
      Random r = new Random(seed * 7919 + name.hashCode());
      boolean gain = name.endsWith(".weight") && (name.contains("LayerNorm") || name.contains("layer_norm"));
      for (int i = 0; i < n; i++) {
        double g = r.nextGaussian();
        v[i] = (float) (gain ? 1 + 0.1 * g : name.endsWith(".bias") ? 0.1 * g : 0.2 * g);
      }
      String stored = prefixed || !name.startsWith(prefix) ? name : name.substring(prefix.length());
      out.put(stored, Safetensors.Tensor.ofFloats(e.getValue(), v));
    }
    return out;
  }

  /** Writes a model folder ({@code config.json}, {@code tokenizer.json}, {@code model.safetensors}). */
  public static Path write(Path dir, String modelType, String overrides, long seed, boolean head) throws IOException {
    Files.createDirectories(dir);
    JsonObject config = config(modelType, overrides);
    Files.writeString(dir.resolve(CheckpointLayout.CONFIG), config.toString(), StandardCharsets.UTF_8);
    Files.write(dir.resolve(CheckpointLayout.TOKENIZER), tokenizer(modelType));
    try (OutputStream out = Files.newOutputStream(dir.resolve(CheckpointLayout.WEIGHTS))) {
      Safetensors.write(out, weights(parsed(modelType, overrides), seed, head, true), Map.of("format", "pt"));
    }
    return dir;
  }

  /** The tokenizer.json of the family's kind. */
  public static byte[] tokenizer(String modelType) throws IOException {
    return switch (modelType) {
      case "roberta" -> bpeTokenizer().getBytes(StandardCharsets.UTF_8);
      case "deberta-v2" -> unigramTokenizer().getBytes(StandardCharsets.UTF_8);
      default -> Files.readAllBytes(Shared.miniLm().resolve(CheckpointLayout.TOKENIZER));
    };
  }

  /** RoBERTa's specials, then the byte-level alphabet of lower-case text, then merged words ("Ġ" is a space). */
  private static Map<String, Integer> bpeVocab() {
    Map<String, Integer> vocab = new LinkedHashMap<>();
    for (String s : List.of("<s>", "<pad>", "</s>", "<unk>")) {
      vocab.put(s, vocab.size());
    }
    for (char c = 'a'; c <= 'z'; c++) {
      vocab.put(String.valueOf(c), vocab.size());
    }
    for (String s : List.of("Ġ", ".", ",", "'")) {
      vocab.put(s, vocab.size());
    }
    for (String m : bpeMerges()) {
      vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
    }
    return vocab;
  }

  /** Merges that build "Ġword" for every word of {@link #WORDS}, letter by letter. */
  private static List<String> bpeMerges() {
    List<String> merges = new java.util.ArrayList<>();
    for (String w : WORDS) {
      String built = "Ġ";
      for (char c : w.toCharArray()) {
        String merge = built + " " + c;
        if (!merges.contains(merge)) {
          merges.add(merge);
        }
        built = built + c;
      }
    }
    return merges;
  }

  private static String bpeTokenizer() {
    JsonObject model = new JsonObject();
    model.addProperty("type", "BPE");
    model.addProperty("unk_token", "<unk>");
    JsonObject vocab = new JsonObject();
    bpeVocab().forEach(vocab::addProperty);
    model.add("vocab", vocab);
    JsonArray merges = new JsonArray();
    bpeMerges().forEach(merges::add);
    model.add("merges", merges);
    String added = "[" + String.join(",", List.of(added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"),
        added(3, "<unk>"))) + "]";
    return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": " + added + ","
        + " \"normalizer\": null,"
        + " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true,"
        + " \"use_regex\": true},"
        + " \"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 0],"
        + " \"trim_offsets\": true, \"add_prefix_space\": true},"
        + " \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true,"
        + " \"use_regex\": true}, \"model\": " + model + "}";
  }

  /** DeBERTa's specials, then "▁word" pieces and single letters with SentencePiece-style log probabilities. */
  private static Map<String, Double> unigramVocab() {
    Map<String, Double> vocab = new LinkedHashMap<>();
    for (String s : List.of("[PAD]", "[CLS]", "[SEP]", "[UNK]")) {
      vocab.put(s, 0.0);
    }
    vocab.put("▁", -3.0);
    for (String w : WORDS) {
      vocab.put("▁" + w, -4.0 - w.length() * 0.1);
    }
    for (char c = 'a'; c <= 'z'; c++) {
      vocab.put(String.valueOf(c), -8.0);
    }
    vocab.put(".", -5.0);
    return vocab;
  }

  private static String unigramTokenizer() {
    JsonArray vocab = new JsonArray();
    unigramVocab().forEach((piece, score) -> {
      JsonArray entry = new JsonArray();
      entry.add(piece);
      entry.add(score);
      vocab.add(entry);
    });
    String added = "[" + String.join(",", List.of(added(0, "[PAD]"), added(1, "[CLS]"), added(2, "[SEP]"),
        added(3, "[UNK]"))) + "]";
    return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": " + added + ","
        + " \"normalizer\": null,"
        + " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"always\","
        + " \"split\": true},"
        + " \"post_processor\": {\"type\": \"TemplateProcessing\","
        + " \"single\": [{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\","
        + " \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}],"
        + " \"pair\": [{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\","
        + " \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\","
        + " \"type_id\": 1}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 1}}],"
        + " \"special_tokens\": {\"[CLS]\": {\"id\": \"[CLS]\", \"ids\": [1], \"tokens\": [\"[CLS]\"]},"
        + " \"[SEP]\": {\"id\": \"[SEP]\", \"ids\": [2], \"tokens\": [\"[SEP]\"]}}},"
        + " \"decoder\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"always\","
        + " \"split\": true},"
        + " \"model\": {\"type\": \"Unigram\", \"unk_id\": 3, \"vocab\": " + vocab + ", \"byte_fallback\": false}}";
  }

  private static String added(int id, String content) {
    return "{\"id\": " + id + ", \"content\": \"" + content + "\", \"single_word\": false, \"lstrip\": false,"
        + " \"rstrip\": false, \"normalized\": false, \"special\": true}";
  }
}
