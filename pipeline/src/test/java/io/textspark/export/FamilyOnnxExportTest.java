package io.textspark.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.textspark.TextSparkException;
import io.textspark.config.ModelConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.ColaArchive;
import io.textspark.inference.Engine;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import io.textspark.inference.ResolvedModel;
import io.textspark.onnx.proto.Onnx;
import io.textspark.inference.ScoringModel;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyFamilies;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ONNX exports of RoBERTa, DistilBERT, ELECTRA and DeBERTa-v2, on tiny random checkpoints with their own
 * tokenizers, run in ONNX Runtime for Java against textspark's PyTorch path: the same logits on real
 * sentences padded into one batch (with the family's pad id) and alone, int8 close, ONNX Runtime's
 * fusions, the ONNX checker, and each family's own graph inputs.
 */
class FamilyOnnxExportTest {
  @TempDir static Path dir;
  private static final ModelConfig HUB = TextSparkConfig.withOverrides().model();
  private static final Map<String, Exported> EXPORTS = new HashMap<>();
  private static List<String> sentences;

  /** A family's tiny model, textspark's PyTorch model of it, and its fp32 and int8 exports. */
  private record Exported(ResolvedModel resolved, ScoringModel pytorch, Path fp32, Path int8,
      OnnxExport.Report fp32Report, OnnxExport.Report int8Report) {}

  private static synchronized Exported exported(String type) {
    return EXPORTS.computeIfAbsent(type, t -> {
      try {
        Path model = TinyFamilies.write(dir.resolve(t + "-model"), t, null, 29, true);
        Configuration conf = new Configuration();
        ResolvedModel resolved = ResolvedModel.resolve(model.toString(), HUB, 0, conf);
        Path fp32 = dir.resolve(t + "-fp32");
        Path int8 = dir.resolve(t + "-int8");
        OnnxExport.Report f = ExportJob.export(model.toString(), HUB, OnnxExportTest.hadoop(fp32),
            OnnxExport.Options.fp32(), conf);
        OnnxExport.Report q = ExportJob.export(model.toString(), HUB, OnnxExportTest.hadoop(int8),
            OnnxExport.Options.int8(), conf);
        return new Exported(resolved, ScoringModel.load(resolved.model(), Device.cpu()), fp32, int8, f, q);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** The check sentences and the first 40 of CoLA's validation set: real English, 3 to 40 tokens. */
  private static synchronized List<String> sentences() {
    if (sentences == null) {
      List<String> all = new ArrayList<>(ExportCheck.SENTENCES);
      ColaArchive.read(Shared.colaZip(), "cola").validation().stream().limit(40).forEach(r -> all.add(r.sentence()));
      sentences = all;
    }
    return sentences;
  }

  @AfterAll
  static void close() {
    EXPORTS.values().forEach(e -> e.pytorch().close());
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void fp32LogitsEqualTextsparksOnSentencesPaddedIntoOneBatchAndAlone(String type) throws Exception {
    Exported e = exported(type);
    double max = 0;
    try (OnnxRun run = new OnnxRun(e.fp32().resolve("model.onnx"), null)) {
      long[][][] all = batch(e, sentences());
      assertTrue(Arrays.stream(all[1]).anyMatch(m -> m[m.length - 1] == 0), "the batch is padded");
      max = Math.max(max, maxDiff(pytorchLogits(e, all[0], all[1]), run.logits(all[0], all[1])));
      for (String s : sentences()) {
        long[][][] one = batch(e, List.of(s));
        max = Math.max(max, maxDiff(pytorchLogits(e, one[0], one[1]), run.logits(one[0], one[1])));
      }
    }
    System.out.printf("%s: fp32 ONNX logits within %.2e of textspark's on %d sentences%n", type, max,
        sentences().size());
    assertTrue(max < 1e-4, type + ": largest logit difference " + max);
    assertTrue(e.fp32Report().fp32Check().maxAbsDiff() < 1e-4, "the export verified itself: " + e.fp32Report());
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void theExportScoresLikeTheModelThroughThePredictor(String type) {
    Exported e = exported(type);
    Configuration conf = new Configuration();
    InferenceSettings pytorch = new InferenceSettings(0, 5, "cpu", 1, "pytorch");
    InferenceSettings onnx = new InferenceSettings(0, 5, "cpu", 1, "auto");
    try (Predictor expected = Predictor.load(e.resolved().reference(), HUB, pytorch, conf);
        Predictor got = Predictor.load(e.fp32().toString(), HUB, onnx, conf)) {
      assertEquals(Engine.ONNXRUNTIME, got.engine());
      Prediction[] want = expected.predict(sentences());
      Prediction[] have = got.predict(sentences());
      for (int i = 0; i < want.length; i++) {
        assertArrayEquals(want[i].probabilities(), have[i].probabilities(), 1e-4, sentences().get(i));
        assertEquals(want[i].label(), have[i].label(), sentences().get(i));
        assertEquals(want[i].tokens(), have[i].tokens(), sentences().get(i));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void theGraphDeclaresTokenTypesOnlyWhereTheFamilyHasThem(String type) throws Exception {
    Exported e = exported(type);
    List<String> expected = type.equals("electra") ? List.of("input_ids", "attention_mask", "token_type_ids")
        : List.of("input_ids", "attention_mask");
    List<String> marked = new ArrayList<>();
    e.fp32Report().marker().getAsJsonArray("inputs").forEach(v -> marked.add(v.getAsString()));
    assertEquals(expected, marked);
    assertEquals(type, e.fp32Report().marker().get("model_type").getAsString());
    try (OnnxRun run = new OnnxRun(e.int8().resolve("model.onnx"), null)) {
      assertEquals(Set.copyOf(expected), run.inputs());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void int8IsSmallAndPredictsTheSameOnMostSentences(String type) throws Exception {
    Exported e = exported(type);
    // The tiny models' graphs are as large as their weights, so the weights are compared, not the files;
    // at hidden size 32 the per-column scales and the float biases and layer norms still weigh a lot.
    long fp32Bytes = weightBytes(e.fp32().resolve("model.onnx"));
    long int8Bytes = weightBytes(e.int8().resolve("model.onnx"));
    assertTrue(int8Bytes <= 0.5 * fp32Bytes, int8Bytes + " bytes of weights against fp32's " + fp32Bytes);
    int same = 0;
    double max = 0;
    try (OnnxRun run = new OnnxRun(e.int8().resolve("model.onnx"), null)) {
      long[][][] all = batch(e, sentences());
      float[][] expected = pytorchLogits(e, all[0], all[1]);
      float[][] got = run.logits(all[0], all[1]);
      for (int i = 0; i < got.length; i++) {
        same += argmax(got[i]) == argmax(expected[i]) ? 1 : 0;
      }
      max = maxDiff(expected, got);
    }
    System.out.printf("%s: int8 same prediction on %d of %d sentences, logits within %.3f%n", type, same,
        sentences().size(), max);
    assertTrue(same >= 0.9 * sentences().size(), type + ": int8 predicts like fp32 on only " + same);
    assertTrue(e.int8Report().int8Check().sameArgmax() >= ExportCheck.SENTENCES.size() - 1,
        e.int8Report().int8Check().toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void onnxRuntimeFusesLayerNormsAndGeluAndRunsInt8MatMulsAsIntegerKernels(String type) throws Exception {
    Exported e = exported(type);
    Path fp32Optimized = dir.resolve(type + "-fp32-optimized.onnx");
    Path int8Optimized = dir.resolve(type + "-int8-optimized.onnx");
    new OnnxRun(e.fp32().resolve("model.onnx"), fp32Optimized).close();
    new OnnxRun(e.int8().resolve("model.onnx"), int8Optimized).close();
    Map<String, Integer> f = OnnxRun.opCounts(fp32Optimized);
    Map<String, Integer> q = OnnxRun.opCounts(int8Optimized);
    System.out.println(type + ": ONNX Runtime optimized fp32: " + f + "\n" + type + ": optimized int8: " + q);
    // 2 layers: 2 LayerNorms per layer, each after an Add, and the embeddings' after their sum (DeBERTa's
    // tiny model adds nothing to its word embeddings); one erf GELU per layer.
    boolean deberta = type.equals("deberta-v2");
    for (Map<String, Integer> counts : List.of(f, q)) {
      assertEquals(deberta ? 4 : 5, counts.getOrDefault("SkipLayerNormalization", 0), counts.toString());
      assertEquals(deberta ? 1 : 0, counts.getOrDefault("LayerNormalization", 0), counts.toString());
      // ELECTRA's GELU head fuses too once its Gemm is an int8 MatMul and an Add.
      assertTrue(counts.getOrDefault("BiasGelu", 0) >= 2, counts.toString());
      assertEquals(0, counts.getOrDefault("Erf", 0), counts.toString());
    }
    assertEquals(0, q.getOrDefault("MatMulInteger", 0), q.toString());
    if (!deberta) {
      // 6 dense layers per encoder layer, the head's two, and ELECTRA's embedding projection: all int8.
      int dense = 2 * 6 + 2 + (type.equals("electra") ? 1 : 0);
      assertEquals(dense, q.getOrDefault("MatMulIntegerToFloat", 0), q.toString());
      // Only attention's two activation x activation products per layer stay float.
      assertEquals(2 * 2, q.getOrDefault("MatMul", 0) + q.getOrDefault("FusedMatMul", 0), q.toString());
    } else {
      assertTrue(q.getOrDefault("MatMulIntegerToFloat", 0) >= 2 * 6 + 2, q.toString());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"roberta", "distilbert", "electra", "deberta-v2"})
  void bothGraphsPassTheOnnxCheckersFullCheck(String type) throws Exception {
    assumeTrue(pythonHasOnnx(), "/usr/bin/python3 with the onnx package (Debian python3-onnx) is not installed");
    Exported e = exported(type);
    for (Path model : List.of(e.fp32().resolve("model.onnx"), e.int8().resolve("model.onnx"))) {
      String script = "import onnx, sys\n"
          + "m = onnx.load(sys.argv[1])\n"
          + "onnx.checker.check_model(m, full_check=True)\n"
          + "print('ok', m.ir_version, [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')])\n";
      Process p = new ProcessBuilder("/usr/bin/python3", "-c", script, model.toString()).redirectErrorStream(true)
          .start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), output);
      assertTrue(output.startsWith("ok 8 [17]"), output);
    }
  }

  @Test
  void aModelWithoutATrainedHeadIsRefusedAndNothingIsWritten() throws Exception {
    Path model = TinyFamilies.write(dir.resolve("roberta-base-model"), "roberta", null, 31, false);
    Path out = dir.resolve("roberta-base-onnx");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> ExportJob.export(model.toString(), HUB, OnnxExportTest.hadoop(out), OnnxExport.Options.fp32(),
            new Configuration()));
    assertTrue(e.getMessage().contains("classifier.dense.weight"), e.getMessage());
    assertFalse(Files.exists(out));
  }

  /** Ids padded with the model's pad id and their mask, [2][rows][longest]. */
  private static long[][][] batch(Exported e, List<String> texts) {
    int[][] ids = new int[texts.size()][];
    int longest = 0;
    for (int i = 0; i < ids.length; i++) {
      ids[i] = e.pytorch().tokenizer(e.resolved().maxLength()).encode(texts.get(i)).ids();
      longest = Math.max(longest, ids[i].length);
    }
    long[][] padded = new long[ids.length][longest];
    long[][] mask = new long[ids.length][longest];
    for (int i = 0; i < ids.length; i++) {
      Arrays.fill(padded[i], e.resolved().model().config().padTokenId());
      for (int j = 0; j < ids[i].length; j++) {
        padded[i][j] = ids[i][j];
        mask[i][j] = 1;
      }
    }
    return new long[][][] {padded, mask};
  }

  private static float[][] pytorchLogits(Exported e, long[][] ids, long[][] mask) {
    int b = ids.length;
    int t = ids[0].length;
    long[] flatIds = new long[b * t];
    long[] flatMask = new long[b * t];
    for (int i = 0; i < b; i++) {
      System.arraycopy(ids[i], 0, flatIds, i * t, t);
      System.arraycopy(mask[i], 0, flatMask, i * t, t);
    }
    try (NDManager m = NDManager.newBaseManager()) {
      float[] flat = e.pytorch().classifier().logits(m.create(flatIds, new Shape(b, t)),
          m.create(flatMask, new Shape(b, t)), false).toFloatArray();
      int labels = flat.length / b;
      float[][] out = new float[b][labels];
      for (int i = 0; i < b; i++) {
        System.arraycopy(flat, i * labels, out[i], 0, labels);
      }
      return out;
    }
  }

  /** The bytes of a model's initializers. */
  private static long weightBytes(Path model) throws IOException {
    Onnx.ModelProto m;
    try (java.io.InputStream in = Files.newInputStream(model)) {
      m = Onnx.ModelProto.parseFrom(in);
    }
    return m.getGraph().getInitializerList().stream().mapToLong(t -> t.getSerializedSize()).sum();
  }

  private static double maxDiff(float[][] expected, float[][] actual) {
    assertEquals(expected.length, actual.length);
    double max = 0;
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i].length, actual[i].length);
      for (int j = 0; j < expected[i].length; j++) {
        max = Math.max(max, Math.abs(expected[i][j] - actual[i][j]));
      }
    }
    return max;
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  private static boolean pythonHasOnnx() {
    try {
      Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import onnx").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
