package io.textspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.config.ModelConfig;
import io.textspark.model.bert.BertClassifier;
import io.textspark.model.bert.BertConfig;
import io.textspark.model.bert.BertFamily;
import io.textspark.testing.TinyBert;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model-family registry: choosing the family by {@code model_type}, and refusing the others early. */
class ModelFamiliesTest {
  private static final ModelConfig NO_HUB = new ModelConfig("unused", "file:///nonexistent", "main", "");

  @TempDir Path tmp;

  @Test
  void bertModelTypeIsReadAndBuiltByTheBertFamily() {
    assertEquals(List.of("bert", "roberta", "distilbert", "electra", "deberta-v2"), ModelFamilies.supportedModelTypes());
    assertInstanceOf(BertFamily.class, ModelFamilies.forModelType("bert", "m"));

    ClassifierConfig parsed = ModelFamilies.parseConfig(TinyBert.CONFIG.toJson(), "tiny", "tiny/config.json");
    assertInstanceOf(BertConfig.class, parsed);
    assertEquals(TinyBert.CONFIG, parsed);
    assertEquals("bert", parsed.modelType());
    assertInstanceOf(BertFamily.class, ModelFamilies.of(parsed));
    assertEquals(List.of("classifier.weight", "classifier.bias"), ModelFamilies.of(parsed).trainedHeadTensors());
    // A config.json without model_type (older BERT exports) is read as BERT, as before the registry.
    assertEquals(
        TinyBert.CONFIG.withLabels(List.of("a", "b", "c")),
        ModelFamilies.parseConfig(TinyBert.CONFIG.withLabels(List.of("a", "b", "c")).toJson()
            .replace("\"model_type\": \"bert\",", ""), "old", "old/config.json"));

    try (NDManager root = NDManager.newBaseManager();
        TextClassifier model = ModelFamilies.load(root, parsed, TinyBert.encoderWeights(3), 7)) {
      assertInstanceOf(BertClassifier.class, model);
      assertEquals(List.copyOf(BertClassifier.parameterShapes(TinyBert.CONFIG).keySet()),
          List.copyOf(model.parameters().keySet()));
      assertEquals(parsed, model.config());
    }
  }

  @Test
  void everyFamilyIsChosenByItsModelType() {
    for (String type : List.of("roberta", "distilbert", "electra", "deberta-v2")) {
      ClassifierConfig parsed = ModelFamilies.parseConfig("{\"model_type\": \"" + type + "\"}", "m", "m/config.json");
      assertEquals(type, parsed.modelType());
      assertEquals(List.of(type), ModelFamilies.of(parsed).modelTypes());
      assertEquals(4, ModelFamilies.of(parsed).trainedHeadTensors().size(), type + ": a dense and an output layer");
      assertTrue(ModelFamilies.of(parsed).exportsOnnx(), type);
    }
    assertEquals(List.of("bert", "roberta", "distilbert", "electra", "deberta-v2"), ModelFamilies.onnxModelTypes());
  }

  @Test
  void aFamilyWithoutAnOnnxGraphIsRefusedNamingTheFamiliesThatExport() {
    ModelFamily withoutGraph = new ModelFamily() {
      @Override
      public List<String> modelTypes() {
        return List.of("bert");
      }

      @Override
      public ClassifierConfig parseConfig(String json, String source) {
        return BertConfig.parse(json);
      }

      @Override
      public TextClassifier load(NDManager parent, ClassifierConfig config,
          java.util.Map<String, Safetensors.Tensor> weights, long seed) {
        throw new UnsupportedOperationException();
      }

      @Override
      public List<String> trainedHeadTensors() {
        return List.of();
      }
    };
    assertTrue(!withoutGraph.exportsOnnx());
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> withoutGraph.onnxGraph(TinyBert.CONFIG, java.util.Map.of()));
    assertTrue(e.getMessage().contains("cannot be exported to ONNX yet; export supports: "
        + String.join(", ", ModelFamilies.onnxModelTypes()) + "."), e.getMessage());
  }

  @Test
  void anUnsupportedModelTypeIsRefusedNamingTheModelAndTheSupportedFamilies() {
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> ModelFamilies.parseConfig("{\"model_type\": \"gpt2\", \"n_embd\": 768}", "openai-community/gpt2",
            "openai-community/gpt2/config.json"));
    assertTrue(e.getMessage().startsWith("model openai-community/gpt2 has model_type \"gpt2\", which textspark does"
        + " not support; supported: bert, roberta, distilbert, electra, deberta-v2. "), e.getMessage());

    TextSparkException notString = assertThrows(TextSparkException.class,
        () -> ModelFamilies.parseConfig("{\"model_type\": 7}", "m", "m/config.json"));
    assertTrue(notString.getMessage().contains("m/config.json: model_type = 7 is not a string; allowed: one of bert,"
        + " roberta, distilbert, electra, deberta-v2."),
        notString.getMessage());
    TextSparkException notJson = assertThrows(TextSparkException.class,
        () -> ModelFamilies.parseConfig("[1, 2]", "m", "m/config.json"));
    assertTrue(notJson.getMessage().contains("m/config.json is not a JSON object"), notJson.getMessage());
  }

  @Test
  void pretrainedModelLoadRefusesAnUnsupportedFamilyBeforeReadingItsWeights() throws IOException {
    Path folder = TinyBert.writeFolderOfModelType(tmp.resolve("gpt2-like"), 1, "gpt2");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> PretrainedModel.load(folder.toString(), NO_HUB, new Configuration()));
    assertTrue(e.getMessage().startsWith("model " + folder + " has model_type \"gpt2\", which textspark does not"
        + " support; supported: bert, roberta, distilbert, electra, deberta-v2."), e.getMessage());

    // Without weights the refusal is the same: the family is checked first, so a Hub model is not downloaded.
    Files.delete(folder.resolve(CheckpointLayout.WEIGHTS));
    TextSparkException noWeights = assertThrows(TextSparkException.class,
        () -> PretrainedModel.load(folder.toString(), NO_HUB, new Configuration()));
    assertEquals(e.getMessage(), noWeights.getMessage());

    // The same folder with model_type bert loads.
    Path bert = TinyBert.writeFolderOfModelType(tmp.resolve("bert"), 1, "bert");
    assertEquals(TinyBert.CONFIG, PretrainedModel.load(bert.toString(), NO_HUB, new Configuration()).config());
  }
}
