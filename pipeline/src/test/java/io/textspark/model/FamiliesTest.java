package io.textspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.config.ModelConfig;
import io.textspark.testing.TinyFamilies;
import io.textspark.text.BertTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RoBERTa, DistilBERT, ELECTRA and DeBERTa-v2 on tiny random checkpoints: logits against the
 * independent plain-PyTorch versions in {@code bench/pytorch_families.py}, padding invariance,
 * saving and reloading under Hugging Face names, base checkpoints with a fresh head, tokenizers.
 */
class FamiliesTest {
  private static final ModelConfig NO_HUB = new ModelConfig("unused", "file:///nonexistent", "main", "");
  private static final Path SCRIPT = Path.of("../bench/pytorch_families.py").toAbsolutePath();
  private static final String TEXTS_SAMPLE = "the cat sat on the mat.";

  @TempDir Path tmp;

  /** Token id rows of several lengths, from the family's own tokenizer. */
  private static List<long[]> rows(PretrainedModel model) {
    List<long[]> rows = new ArrayList<>();
    try (BertTokenizer tokenizer = BertTokenizer.fromJson(model.tokenizerJson(), 30)) {
      for (String text : List.of(TEXTS_SAMPLE, "a dog ran.", "the students sent a book on the mat, a cat read it.",
          "is", "the cat sat on the mat the dog ran on the mat a cat read a book the students sent the book to a cat")) {
        int[] ids = tokenizer.encode(text).ids();
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
          wide[i] = ids[i];
        }
        rows.add(wide);
      }
    }
    return rows;
  }

  /** Logits [rows][labels] of a padded batch (padded with the model's pad id), or of each row alone. */
  private static float[][] logits(TextClassifier model, List<long[]> rows, boolean batched) {
    float[][] out = new float[rows.size()][];
    try (NDManager m = NDManager.newBaseManager()) {
      if (!batched) {
        for (int r = 0; r < rows.size(); r++) {
          out[r] = model.logits(m.create(rows.get(r), new Shape(1, rows.get(r).length)), null, false).toFloatArray();
        }
        return out;
      }
      int t = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
      long[] ids = new long[rows.size() * t];
      long[] mask = new long[ids.length];
      java.util.Arrays.fill(ids, model.config().padTokenId());
      for (int r = 0; r < rows.size(); r++) {
        for (int i = 0; i < rows.get(r).length; i++) {
          ids[r * t + i] = rows.get(r)[i];
          mask[r * t + i] = 1;
        }
      }
      float[] flat = model.logits(m.create(ids, new Shape(rows.size(), t)), m.create(mask, new Shape(rows.size(), t)),
          false).toFloatArray();
      int labels = flat.length / rows.size();
      for (int r = 0; r < rows.size(); r++) {
        out[r] = java.util.Arrays.copyOfRange(flat, r * labels, (r + 1) * labels);
      }
      return out;
    }
  }

  private static double maxDiff(float[][] a, float[][] b) {
    double max = 0;
    for (int r = 0; r < a.length; r++) {
      assertEquals(a[r].length, b[r].length);
      for (int j = 0; j < a[r].length; j++) {
        max = Math.max(max, Math.abs(a[r][j] - b[r][j]));
      }
    }
    return max;
  }

  private static String python() {
    for (String candidate : List.of("/usr/bin/python3", "python3")) {
      try {
        if (new ProcessBuilder(candidate, "-c", "import torch").redirectErrorStream(true).start().waitFor() == 0) {
          return candidate;
        }
      } catch (IOException | InterruptedException e) {
        // not installed
      }
    }
    return null;
  }

  private static float[][] pytorchLogits(String python, Path folder, List<long[]> rows) throws Exception {
    JsonArray ids = new JsonArray();
    for (long[] row : rows) {
      JsonArray r = new JsonArray();
      for (long id : row) {
        r.add(id);
      }
      ids.add(r);
    }
    Process p = new ProcessBuilder(python, SCRIPT.toString(), folder.toString(), "--ids", ids.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    JsonArray logits = JsonParser.parseString(out.strip()).getAsJsonObject().getAsJsonArray("logits");
    float[][] result = new float[logits.size()][];
    for (int r = 0; r < result.length; r++) {
      JsonArray row = logits.get(r).getAsJsonArray();
      result[r] = new float[row.size()];
      for (int j = 0; j < row.size(); j++) {
        result[r][j] = row.get(j).getAsFloat();
      }
    }
    return result;
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "roberta;{}",
      "distilbert;{}",
      "electra;{}",
      "electra;{\"embedding_size\": 32, \"hidden_act\": \"relu\"}",
      "deberta-v2;{}",
      "deberta-v2;{\"share_att_key\": false, \"pos_att_type\": \"c2p|p2c\", \"position_buckets\": -1,"
          + " \"max_relative_positions\": 6, \"position_biased_input\": true, \"type_vocab_size\": 2,"
          + " \"embedding_size\": 16, \"norm_rel_ebd\": \"none\"}",
      "deberta-v2;{\"pos_att_type\": [\"c2p\"], \"share_att_key\": false}",
      "deberta-v2;{\"position_buckets\": 16, \"max_relative_positions\": 24, \"pos_att_type\": [\"p2c\"]}",
      "deberta-v2;{\"relative_attention\": false, \"pos_att_type\": null, \"position_biased_input\": true}"})
  void logitsMatchThePlainPyTorchImplementation(String family, String overrides) throws Exception {
    Path folder = TinyFamilies.write(tmp.resolve("m"), family, overrides, 5, true);
    PretrainedModel pretrained = PretrainedModel.load(folder.toString(), NO_HUB, new Configuration());
    List<long[]> rows = rows(pretrained);
    try (NDManager root = NDManager.newBaseManager();
        TextClassifier model = ModelFamilies.load(root, pretrained.config(), pretrained.weights(), 1)) {
      float[][] batched = logits(model, rows, true);
      float[][] alone = logits(model, rows, false);
      double padding = maxDiff(batched, alone);
      assertTrue(padding < 1e-5, family + ": padding changed logits by " + padding);
      String python = python();
      assumeTrue(python != null, "no python3 with torch (Debian: python3-torch) is installed");
      double diff = maxDiff(batched, pytorchLogits(python, folder, rows));
      System.out.printf("%s %s: max |logit difference| vs PyTorch %.3g, padded vs alone %.3g%n", family, overrides,
          diff, padding);
      assertTrue(diff < 1e-5, family + ": logits differ from PyTorch by " + diff);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void savesUnderHuggingFaceNamesAndReloadsTheSameModel(String family) throws IOException {
    Path folder = TinyFamilies.write(tmp.resolve("m"), family, "{}", 6, false);
    PretrainedModel base = PretrainedModel.load(folder.toString(), NO_HUB, new Configuration());
    ModelFamily f = ModelFamilies.of(base.config());
    assertTrue(f.trainedHeadTensors().stream().noneMatch(base.weights()::containsKey), "a base model has no head");
    ClassifierConfig relabelled = base.config().withLabels(List.of("no", "maybe", "yes"));
    Path saved = Files.createDirectories(tmp.resolve("saved"));
    float[][] before;
    try (NDManager root = NDManager.newBaseManager();
        TextClassifier model = ModelFamilies.load(root, relabelled, base.weights(), 9)) {
      before = logits(model, rows(base), true);
      assertEquals(3, before[0].length);
      try (OutputStream out = Files.newOutputStream(saved.resolve(CheckpointLayout.WEIGHTS))) {
        model.save(out, Map.of());
      }
      Files.writeString(saved.resolve(CheckpointLayout.CONFIG), relabelled.toJson());
      Files.write(saved.resolve(CheckpointLayout.TOKENIZER), base.tokenizerJson());
      // Every name is the family's Hugging Face name: what AutoModelForSequenceClassification expects.
      Map<String, Safetensors.Tensor> written;
      try (InputStream in = Files.newInputStream(saved.resolve(CheckpointLayout.WEIGHTS))) {
        written = Safetensors.read(in, "saved");
      }
      assertEquals(TinyFamilies.shapes((HfConfig) relabelled).keySet(), written.keySet());
      assertTrue(written.keySet().containsAll(f.trainedHeadTensors()));
    }
    JsonObject config = JsonParser.parseString(Files.readString(saved.resolve(CheckpointLayout.CONFIG)))
        .getAsJsonObject();
    String architecture = Map.of("roberta", "RobertaForSequenceClassification", "distilbert",
        "DistilBertForSequenceClassification", "electra", "ElectraForSequenceClassification", "deberta-v2",
        "DebertaV2ForSequenceClassification").get(family);
    assertEquals(architecture, config.getAsJsonArray("architectures").get(0).getAsString());
    assertEquals(family, config.get("model_type").getAsString());
    assertEquals("maybe", config.getAsJsonObject("id2label").get("1").getAsString());
    assertEquals(2, config.getAsJsonObject("label2id").get("yes").getAsInt());
    assertEquals(3, config.get("num_labels").getAsInt());
    TinyFamilies.config(family, "{}").keySet().forEach(k -> assertTrue(config.has(k), k + " is kept"));

    PretrainedModel reloaded = PretrainedModel.load(saved.toString(), NO_HUB, new Configuration());
    assertEquals(relabelled, reloaded.config());
    try (NDManager root = NDManager.newBaseManager();
        TextClassifier model = ModelFamilies.load(root, reloaded.config(), reloaded.weights(), 12345)) {
      assertEquals(0.0, maxDiff(before, logits(model, rows(base), true)), "the saved head is reloaded, not made up");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void baseCheckpointsWithoutThePrefixGetAFreshHeadFromTheSeed(String family) {
    HfConfig config = TinyFamilies.parsed(family, "{}");
    Map<String, Safetensors.Tensor> bare = TinyFamilies.weights(config, 3, false, false);
    assertTrue(bare.keySet().stream().noneMatch(k -> k.startsWith(family.replace("-v2", "") + ".")), bare.keySet()
        .toString());
    List<long[]> rows = List.of(new long[] {0, 5, 9, 7, 2}, new long[] {0, 6, 2});
    try (NDManager root = NDManager.newBaseManager();
        TextClassifier a = ModelFamilies.load(root, config, bare, 1);
        TextClassifier b = ModelFamilies.load(root, config, TinyFamilies.weights(config, 3, false, true), 1);
        TextClassifier c = ModelFamilies.load(root, config, bare, 2)) {
      assertEquals(0.0, maxDiff(logits(a, rows, true), logits(b, rows, true)), "with or without the prefix");
      assertNotEquals(0.0, maxDiff(logits(a, rows, true), logits(c, rows, true)), "another seed, another head");
      assertEquals(List.copyOf(TinyFamilies.shapes(config).keySet()), List.copyOf(a.parameters().keySet()));
    }
  }

  @Test
  void aMissingOrMisShapedTensorIsNamed() {
    HfConfig config = TinyFamilies.parsed("electra", "{}");
    Map<String, Safetensors.Tensor> weights = new java.util.HashMap<>(TinyFamilies.weights(config, 3, true, true));
    weights.remove("electra.embeddings_project.weight");
    try (NDManager root = NDManager.newBaseManager()) {
      TextSparkException e = assertThrows(TextSparkException.class, () -> ModelFamilies.load(root, config, weights, 1));
      assertTrue(e.getMessage().startsWith("checkpoint tensor electra.embeddings_project.weight (or"
          + " embeddings_project.weight) is missing; expected shape [32, 16]."), e.getMessage());
      weights.remove("classifier.out_proj.bias");
      e = assertThrows(TextSparkException.class, () -> ModelFamilies.load(root, config.withLabels(List.of("x", "y",
          "z")), TinyFamilies.weights(config, 3, true, true), 1));
      assertTrue(e.getMessage().contains("classifier.out_proj.weight has shape [2, 32] but config.json implies shape"
          + " [3, 32]"), e.getMessage());
    }
  }

  @Test
  void configsAreValidatedNamingTheKey() {
    TextSparkException conv = assertThrows(TextSparkException.class,
        () -> TinyFamilies.parsed("deberta-v2", "{\"conv_kernel_size\": 3}"));
    assertTrue(conv.getMessage().contains("conv_kernel_size = 3 is not supported"), conv.getMessage());
    TextSparkException heads = assertThrows(TextSparkException.class,
        () -> TinyFamilies.parsed("distilbert", "{\"n_heads\": 5}"));
    assertTrue(heads.getMessage().contains("dim = 32 is not divisible by n_heads = 5"), heads.getMessage());
    TextSparkException act = assertThrows(TextSparkException.class,
        () -> TinyFamilies.parsed("roberta", "{\"hidden_act\": \"swish\"}"));
    assertTrue(act.getMessage().contains("hidden_act = \"swish\" is not supported"), act.getMessage());
    TextSparkException att = assertThrows(TextSparkException.class,
        () -> TinyFamilies.parsed("deberta-v2", "{\"pos_att_type\": [\"p2p\"]}"));
    assertTrue(att.getMessage().contains("pos_att_type has \"p2p\""), att.getMessage());

    HfConfig roberta = TinyFamilies.parsed("roberta", "{}");
    assertEquals(40 - 1 - 1, roberta.maxPositionEmbeddings(), "positions start after pad_token_id 1");
    assertEquals(1, roberta.padTokenId());
    HfConfig dropped = roberta.withDropout(0.25);
    JsonObject json = JsonParser.parseString(dropped.toJson()).getAsJsonObject();
    for (String key : List.of("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout")) {
      assertEquals(0.25, json.get(key).getAsDouble(), key);
    }
    assertEquals(roberta, roberta.withDropout(-1));
    JsonObject distil = JsonParser.parseString(TinyFamilies.parsed("distilbert", "{}").withDropout(0).toJson())
        .getAsJsonObject();
    assertEquals(0.0, distil.get("seq_classif_dropout").getAsDouble());
    assertEquals("2 layers, hidden 32", TinyFamilies.parsed("distilbert", "{}").describe());
  }

  @Test
  void tokenizersAddEachFamilysSpecialTokens() throws IOException {
    try (BertTokenizer bpe = BertTokenizer.fromJson(TinyFamilies.tokenizer("roberta"), 10);
        BertTokenizer unigram = BertTokenizer.fromJson(TinyFamilies.tokenizer("deberta-v2"), 10)) {
      int[] ids = bpe.encode("the cat").ids();
      assertEquals(0, ids[0], "<s>");
      assertEquals(2, ids[ids.length - 1], "</s>");
      assertEquals(4, ids.length, "<s> Ġthe Ġcat </s>: " + java.util.Arrays.toString(ids));
      int[] long_ = bpe.encode("the cat sat on the mat the cat sat on the mat").ids();
      assertEquals(10, long_.length);
      assertEquals(2, long_[9], "</s> is kept after truncation");
      int[] pieces = unigram.encode("the cat").ids();
      assertArrayEquals(new int[] {1, 5, 6, 2}, pieces, "[CLS] ▁the ▁cat [SEP]");
    }
  }
}
