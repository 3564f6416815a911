package io.textspark.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.ColaArchive;
import io.textspark.fs.StagedOutput;
import io.textspark.inference.ResolvedModel;
import io.textspark.inference.ScoringModel;
import io.textspark.model.bert.BertConfig;
import io.textspark.onnx.Int8Quantizer;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ONNX export of the small fixed model run in ONNX Runtime for Java against textspark's PyTorch
 * path: the same logits on real sentences, alone and padded into batches, the same predictions on
 * all of CoLA's validation sentences, int8 small and close, and the fusions ONNX Runtime applies.
 */
class OnnxExportTest {
  @TempDir static Path dir;
  private static ResolvedModel resolved;
  private static ScoringModel pytorch;
  private static OnnxExport.Report fp32;
  private static OnnxExport.Report int8;
  private static OnnxExport.Report int8PerTensor;

  @BeforeAll
  static void export() {
    Path checkpoint = TinyModel.checkpoint(dir.resolve("run"), 41);
    Configuration conf = new Configuration();
    resolved = ResolvedModel.resolve(checkpoint.toString(), TextSparkConfig.withOverrides().model(), 0, conf);
    pytorch = ScoringModel.load(resolved.model(), ai.djl.Device.cpu());
    fp32 = ExportJob.export(checkpoint.toString(), TextSparkConfig.withOverrides().model(), hadoop(dir.resolve("fp32")),
        OnnxExport.Options.fp32(), conf);
    int8 = ExportJob.export(checkpoint.toString(), TextSparkConfig.withOverrides().model(), hadoop(dir.resolve("int8")),
        OnnxExport.Options.int8(), conf);
    int8PerTensor = ExportJob.export(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        hadoop(dir.resolve("int8-per-tensor")), new OnnxExport.Options(OnnxExport.Quantization.INT8, false,
            Int8Quantizer.Activations.PER_TENSOR, false, true), conf);
  }

  @AfterAll
  static void close() {
    pytorch.close();
  }

  static org.apache.hadoop.fs.Path hadoop(Path p) {
    return new org.apache.hadoop.fs.Path(p.toUri());
  }

  @Test
  void folderHoldsModelTokenizerConfigAndAMarkerNamingTheSource() throws Exception {
    Path out = dir.resolve("fp32");
    assertEquals(List.of("_textspark.json", "config.json", "model.onnx", "tokenizer.json"), list(out));
    assertEquals(TinyModel.CONFIG, BertConfig.parse(Files.readString(out.resolve("config.json"))));
    assertTrue(Files.readString(out.resolve("config.json")).contains("\"id2label\""));
    assertEquals(Files.readString(Shared.miniLm().resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")));
    JsonObject marker = StagedOutput.marker(hadoop(out), new Configuration()).orElseThrow();
    assertEquals("export", marker.get("stage").getAsString());
    assertEquals(resolved.reference(), marker.get("source").getAsString());
    Checkpoint c = Checkpoint.read(new org.apache.hadoop.fs.Path(resolved.reference()), new Configuration()).orElseThrow();
    String weightsSha = c.files().stream().filter(f -> f.name().equals("model.safetensors")).findFirst()
        .orElseThrow().sha256();
    assertEquals(weightsSha, marker.get("source_weights_sha256").getAsString());
    assertEquals(17, marker.get("opset").getAsInt());
    assertEquals("none", marker.get("quantization").getAsString());
    assertEquals(128, marker.get("max_length").getAsInt(), "the checkpoint's tokenize.max_length");
    assertEquals("[\"input_ids\",\"attention_mask\",\"token_type_ids\"]", marker.get("inputs").toString());
    assertEquals("[\"logits\"]", marker.get("outputs").toString());
    assertEquals(Files.size(out.resolve("model.onnx")), marker.get("model_bytes").getAsLong());
    assertEquals(io.textspark.fs.Download.sha256Hex(Files.readAllBytes(out.resolve("model.onnx"))),
        marker.get("model_sha256").getAsString());
    assertEquals("int8", StagedOutput.marker(hadoop(dir.resolve("int8")), new Configuration()).orElseThrow()
        .get("quantization").getAsString());
    assertTrue(fp32.fp32Check().maxAbsDiff() < 1e-4, "the export verified itself: " + fp32.fp32Check());
  }

  @Test
  void fp32LogitsEqualTextsparksOnSentencesAloneAndPaddedIntoABatch() throws Exception {
    List<String> sentences = ExportCheck.SENTENCES;
    try (OnnxRun run = new OnnxRun(dir.resolve("fp32/model.onnx"), null)) {
      long[][][] all = batch(sentences);
      assertTrue(all[1][2][all[1][2].length - 1] == 0, "the batch is padded, so the mask matters");
      assertClose(pytorchLogits(all[0], all[1]), run.logits(all[0], all[1]), 1e-4);
      for (String s : sentences) {
        long[][][] one = batch(List.of(s));
        assertClose(pytorchLogits(one[0], one[1]), run.logits(one[0], one[1]), 1e-4);
      }
    }
  }

  @Test
  void fp32PredictsLikeTextsparkOnEveryColaValidationSentence() throws Exception {
    List<String> sentences = new ArrayList<>();
    ColaArchive.read(Shared.colaZip(), "cola").validation().forEach(r -> sentences.add(r.sentence()));
    assertEquals(1043, sentences.size());
    sentences.sort(Comparator.comparingInt(String::length));
    int differ = 0;
    int acceptable = 0;
    double max = 0;
    try (OnnxRun run = new OnnxRun(dir.resolve("fp32/model.onnx"), null)) {
      for (int from = 0; from < sentences.size(); from += 64) {
        long[][][] b = batch(sentences.subList(from, Math.min(sentences.size(), from + 64)));
        float[][] expected = pytorchLogits(b[0], b[1]);
        float[][] got = run.logits(b[0], b[1]);
        for (int i = 0; i < got.length; i++) {
          differ += argmax(got[i]) == argmax(expected[i]) ? 0 : 1;
          acceptable += argmax(expected[i]);
          for (int j = 0; j < got[i].length; j++) {
            max = Math.max(max, Math.abs(got[i][j] - expected[i][j]));
          }
        }
      }
    }
    assertEquals(0, differ);
    // Logits here reach +-5; summation order (ONNX Runtime's fused kernels against PyTorch's) moves
    // the last digits, so the whole set gets a little more room than the hand-picked sentences.
    assertTrue(max < 5e-4, "largest logit difference " + max);
    assertTrue(acceptable > 100 && acceptable < 943, "both labels are predicted: " + acceptable);
  }

  @Test
  void int8IsAQuarterOfFp32AndPredictsTheSame() throws Exception {
    long fp32Bytes = Files.size(dir.resolve("fp32/model.onnx"));
    long int8Bytes = Files.size(dir.resolve("int8/model.onnx"));
    assertEquals(fp32Bytes, int8.fp32Bytes());
    assertTrue(int8Bytes <= 0.30 * fp32Bytes, int8Bytes + " bytes against fp32's " + fp32Bytes);
    assertEquals(ExportCheck.SENTENCES.size(), int8.int8Check().sameArgmax(), int8.int8Check().toString());
    // One scale per tensor is coarser: on this random model's near-ties it may flip one sentence.
    assertTrue(int8PerTensor.int8Check().sameArgmax() >= ExportCheck.SENTENCES.size() - 1,
        int8PerTensor.int8Check().toString());
    assertEquals("per-token", int8.marker().get("activation_scales").getAsString());
    assertEquals("per-tensor", int8PerTensor.marker().get("activation_scales").getAsString());
  }

  @Test
  void onnxRuntimeFusesLayerNormsAndGeluAndRunsInt8MatMulsAsIntegerKernels() throws Exception {
    Path fp32Optimized = dir.resolve("fp32-optimized.onnx");
    Path int8Optimized = dir.resolve("int8-optimized.onnx");
    Path perTokenOptimized = dir.resolve("int8-per-token-optimized.onnx");
    new OnnxRun(dir.resolve("fp32/model.onnx"), fp32Optimized).close();
    new OnnxRun(dir.resolve("int8-per-tensor/model.onnx"), int8Optimized).close();
    new OnnxRun(dir.resolve("int8/model.onnx"), perTokenOptimized).close();
    Map<String, Integer> f = OnnxRun.opCounts(fp32Optimized);
    Map<String, Integer> q = OnnxRun.opCounts(int8Optimized);
    Map<String, Integer> t = OnnxRun.opCounts(perTokenOptimized);
    // 2 layers: embeddings + 2 per layer LayerNorms, each after an Add; one GELU per layer.
    assertEquals(5, f.getOrDefault("SkipLayerNormalization", 0), f.toString());
    assertEquals(0, f.getOrDefault("LayerNormalization", 0), f.toString());
    assertEquals(2, f.getOrDefault("BiasGelu", 0) + f.getOrDefault("FastGelu", 0), f.toString());
    assertEquals(0, f.getOrDefault("Erf", 0), f.toString());
    // 6 dense layers per encoder layer, and the pooler and classifier: every one on int8 kernels.
    assertEquals(14, q.getOrDefault("DynamicQuantizeMatMul", 0) + q.getOrDefault("MatMulIntegerToFloat", 0),
        q.toString());
    assertEquals(0, q.getOrDefault("MatMulInteger", 0), q.toString());
    assertEquals(5, q.getOrDefault("SkipLayerNormalization", 0), q.toString());
    // Per token: one QuantizeLinear per distinct MatMul input (Q, K and V share theirs), integer MatMuls
    // scaled per column in one kernel, and the shapes ONNX Runtime needs to still fuse the layer norms
    // and GELU around them.
    assertEquals(14, t.getOrDefault("MatMulIntegerToFloat", 0), t.toString());
    assertEquals(0, t.getOrDefault("MatMulInteger", 0), t.toString());
    // 4 per layer, the last layer's [CLS]-only queries, the pooler and the classifier.
    assertEquals(2 * 4 + 1 + 2, t.getOrDefault("QuantizeLinear", 0), t.toString());
    assertEquals(0, t.getOrDefault("DynamicQuantizeLinear", 0), t.toString());
    // Only attention's two activation x activation products per layer stay float.
    assertEquals(2 * 2, t.getOrDefault("MatMul", 0) + t.getOrDefault("FusedMatMul", 0), t.toString());
    assertEquals(5, t.getOrDefault("SkipLayerNormalization", 0), t.toString());
    assertEquals(2, t.getOrDefault("BiasGelu", 0), t.toString());
    System.out.println("ONNX Runtime optimized fp32: " + f + "\nONNX Runtime optimized int8 per tensor: " + q
        + "\nONNX Runtime optimized int8 per token: " + t);
  }

  static List<String> list(Path folder) throws Exception {
    try (var files = Files.list(folder)) {
      // Hadoop's local file system writes a .crc checksum next to every file.
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")).sorted().toList();
    }
  }

  private static long[][][] batch(List<String> texts) {
    int[][] ids = new int[texts.size()][];
    int longest = 0;
    for (int i = 0; i < ids.length; i++) {
      ids[i] = pytorch.tokenizer(resolved.maxLength()).encode(texts.get(i)).ids();
      longest = Math.max(longest, ids[i].length);
    }
    long[][] padded = new long[ids.length][longest];
    long[][] mask = new long[ids.length][longest];
    for (int i = 0; i < ids.length; i++) {
      for (int j = 0; j < ids[i].length; j++) {
        padded[i][j] = ids[i][j];
        mask[i][j] = 1;
      }
    }
    return new long[][][] {padded, mask};
  }

  private static float[][] pytorchLogits(long[][] ids, long[][] mask) {
    int b = ids.length;
    int t = ids[0].length;
    long[] flatIds = new long[b * t];
    long[] flatMask = new long[b * t];
    for (int i = 0; i < b; i++) {
      System.arraycopy(ids[i], 0, flatIds, i * t, t);
      System.arraycopy(mask[i], 0, flatMask, i * t, t);
    }
    try (NDManager m = NDManager.newBaseManager()) {
      float[] flat = pytorch.classifier().logits(m.create(flatIds, new Shape(b, t)),
          m.create(flatMask, new Shape(b, t)), false).toFloatArray();
      int labels = flat.length / b;
      float[][] out = new float[b][labels];
      for (int i = 0; i < b; i++) {
        System.arraycopy(flat, i * labels, out[i], 0, labels);
      }
      return out;
    }
  }

  private static void assertClose(float[][] expected, float[][] actual, double tolerance) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      for (int j = 0; j < expected[i].length; j++) {
        assertEquals(expected[i][j], actual[i][j], tolerance, "row " + i + ", label " + j);
      }
    }
  }

  private static int argmax(float[] v) {
    return v[1] > v[0] ? 1 : 0;
  }

}
