package io.textspark.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Parsing, validation and Hugging Face export of the BERT configuration. */
class BertConfigTest {

  @Test
  void parsesMiniLmConfigWithDefaultLabels() throws IOException {
    Path file =
        Path.of(System.getProperty("textspark.shared"))
            .resolve("hf/sentence-transformers/all-MiniLM-L6-v2/resolve/main/config.json");
    BertConfig config = BertConfig.parse(Files.readString(file, StandardCharsets.UTF_8));
    assertEquals(384, config.hiddenSize());
    assertEquals(6, config.numHiddenLayers());
    assertEquals(12, config.numAttentionHeads());
    assertEquals(32, config.headDim());
    assertEquals(1536, config.intermediateSize());
    assertEquals(1e-12, config.layerNormEps());
    assertEquals(List.of("unacceptable", "acceptable"), config.labels());
  }

  @Test
  void toJsonRoundTripsAndIsHuggingFaceShaped() {
    BertConfig config =
        BertConfig.parse("{\"hidden_size\": 64, \"num_attention_heads\": 4}")
            .withLabels(List.of("neg", "neu", "pos"));
    String json = config.toJson();
    assertEquals(config, BertConfig.parse(json));
    JsonObject o = JsonParser.parseString(json).getAsJsonObject();
    assertEquals(
        "BertForSequenceClassification", o.getAsJsonArray("architectures").get(0).getAsString());
    assertEquals("bert", o.get("model_type").getAsString());
    assertEquals(3, o.get("num_labels").getAsInt());
    assertEquals("pos", o.getAsJsonObject("id2label").get("2").getAsString());
    assertEquals(1, o.getAsJsonObject("label2id").get("neu").getAsInt());
  }

  @Test
  void withDropoutSetsBothProbabilitiesAndMinusOneKeepsThem() {
    BertConfig config =
        BertConfig.parse(
            "{\"hidden_size\": 64, \"num_attention_heads\": 4, \"hidden_dropout_prob\": 0.2,"
                + " \"attention_probs_dropout_prob\": 0.3}");
    BertConfig none = config.withDropout(0);
    assertEquals(0.0, none.hiddenDropoutProb());
    assertEquals(0.0, none.attentionProbsDropoutProb());
    assertEquals(64, none.hiddenSize());
    assertEquals(config.labels(), none.labels());
    assertEquals(0.05, config.withDropout(0.05).attentionProbsDropoutProb());
    assertSame(config, config.withDropout(-1));
    assertEquals("12 layers, hidden 64", config.describe());
  }

  @Test
  void invalidValuesNameKeyValueAndAllowed() {
    TextSparkException heads =
        assertThrows(
            TextSparkException.class,
            () -> BertConfig.parse("{\"hidden_size\": 384, \"num_attention_heads\": 5}"));
    assertTrue(
        heads.getMessage().contains("num_attention_heads = 5")
            && heads.getMessage().contains("allowed"),
        heads.getMessage());
    TextSparkException act =
        assertThrows(
            TextSparkException.class, () -> BertConfig.parse("{\"hidden_act\": \"relu\"}"));
    assertTrue(
        act.getMessage().contains("hidden_act = \"relu\"") && act.getMessage().contains("gelu"),
        act.getMessage());
    TextSparkException labels =
        assertThrows(
            TextSparkException.class,
            () ->
                BertConfig.parse(
                    "{\"num_labels\": 3, \"id2label\": {\"0\": \"a\", \"1\": \"b\"}}"));
    assertTrue(labels.getMessage().contains("num_labels = 3"), labels.getMessage());
    TextSparkException type =
        assertThrows(
            TextSparkException.class, () -> BertConfig.parse("{\"hidden_size\": \"big\"}"));
    assertTrue(type.getMessage().contains("hidden_size"), type.getMessage());
  }
}
