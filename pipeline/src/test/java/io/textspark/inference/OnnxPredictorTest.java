package io.textspark.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.config.ModelConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.export.ExportJob;
import io.textspark.export.OnnxExport;
import io.textspark.onnx.Int8Quantizer;
import io.textspark.onnx.proto.Onnx;
import io.textspark.testing.TinyModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference entry point on ONNX Runtime: an export of the small fixed model gives what its
 * checkpoint gives on PyTorch (labels, probabilities, nulls, truncation flags), fp32 and int8, and
 * the engine choice refuses what cannot run, naming the fix.
 */
class OnnxPredictorTest {
  private static final String LONG = String.join(" ", Collections.nCopies(60, "the students sent books"));
  private static final List<String> TEXTS = texts();
  private static final ModelConfig HUB = TextSparkConfig.withOverrides().model();

  @TempDir static Path dir;
  private static Path checkpoint;
  private static Path fp32;
  private static Path int8;

  @BeforeAll
  static void export() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 11);
    fp32 = dir.resolve("onnx");
    int8 = dir.resolve("onnx-int8");
    Configuration conf = new Configuration();
    ExportJob.export(checkpoint.toString(), HUB, new org.apache.hadoop.fs.Path(fp32.toUri()),
        new OnnxExport.Options(OnnxExport.Quantization.NONE, false, Int8Quantizer.Activations.PER_TOKEN, false, false),
        conf);
    ExportJob.export(checkpoint.toString(), HUB, new org.apache.hadoop.fs.Path(int8.toUri()),
        new OnnxExport.Options(OnnxExport.Quantization.INT8, false, Int8Quantizer.Activations.PER_TOKEN, false, false),
        conf);
  }

  private static List<String> texts() {
    List<String> texts = new ArrayList<>(BatchScorerTest.SENTENCES);
    texts.addAll(Arrays.asList(null, "", "   ", LONG));
    return Collections.unmodifiableList(texts);
  }

  private static Predictor load(Path model, String engine, int maxLength) {
    return Predictor.load(model.toString(), HUB, new InferenceSettings(maxLength, 3, "cpu", 1, engine),
        new Configuration());
  }

  @Test
  void anExportGivesTheCheckpointsPredictionsOnOnnxRuntime() {
    try (Predictor pytorch = load(checkpoint, "auto", 16); Predictor onnx = load(fp32, "auto", 16)) {
      assertEquals(Engine.PYTORCH, pytorch.engine());
      assertEquals(Engine.ONNXRUNTIME, onnx.engine(), "auto runs a folder with model.onnx on ONNX Runtime");
      assertEquals(pytorch.labels(), onnx.labels());
      assertEquals(16, onnx.maxLength());
      assertEquals(1, onnx.threads());
      assertEquals("cpu()", onnx.device().toString());
      Prediction[] expected = pytorch.predict(TEXTS);
      Prediction[] got = onnx.predict(TEXTS);
      int truncated = 0;
      for (int i = 0; i < TEXTS.size(); i++) {
        String text = TEXTS.get(i);
        if (text == null) {
          assertFalse(got[i].scored());
          assertEquals(BatchScorer.NULL_TEXT, got[i].error());
          assertNull(got[i].probabilities());
          continue;
        }
        assertArrayEquals(expected[i].probabilities(), got[i].probabilities(), 1e-4, text);
        assertEquals(expected[i].label(), got[i].label(), text);
        assertEquals(expected[i].index(), got[i].index(), text);
        assertEquals(expected[i].tokens(), got[i].tokens(), text);
        assertEquals(expected[i].truncated(), got[i].truncated(), text);
        truncated += got[i].truncated() ? 1 : 0;
      }
      assertTrue(got[TEXTS.size() - 1].truncated(), "the long text is cut to 16 tokens");
      assertTrue(truncated >= 2, "truncated: " + truncated);
      assertTrue(onnx.modelNanos() > 0 && onnx.tokenizeNanos() > 0);
    }
  }

  @Test
  void theMaximumLengthComesFromTheExportsMarkerAndOnlyDeclaredInputsAreFed() {
    try (Predictor onnx = load(fp32, "onnxruntime", 0)) {
      assertEquals(128, onnx.maxLength(), "the checkpoint's tokenize.max_length, recorded by the export");
      OnnxScoringModel model = (OnnxScoringModel) onnx.model();
      assertEquals(Set.of("input_ids", "attention_mask", "token_type_ids"), model.inputs());
      Prediction cut = onnx.predict(List.of(LONG))[0];
      assertTrue(cut.truncated(), "240 words do not fit in 128 tokens");
      assertEquals(128, cut.tokens());
    }
  }

  @Test
  void aGraphWithoutTokenTypesGetsOnlyTheInputsItDeclares() throws Exception {
    // The fp32 export with token_type_ids computed inside the graph (input_ids * 0) instead of fed.
    Path folder = dir.resolve("no-token-types");
    Files.createDirectories(folder);
    for (String file : List.of("config.json", "tokenizer.json", "_textspark.json")) {
      Files.copy(fp32.resolve(file), folder.resolve(file));
    }
    Onnx.ModelProto.Builder model = Onnx.ModelProto.parseFrom(Files.readAllBytes(fp32.resolve("model.onnx")))
        .toBuilder();
    Onnx.GraphProto.Builder graph = model.getGraphBuilder();
    for (int i = 0; i < graph.getInputCount(); i++) {
      if (graph.getInput(i).getName().equals("token_type_ids")) {
        graph.removeInput(i);
        break;
      }
    }
    graph.addInitializer(Onnx.TensorProto.newBuilder().setName("zero_for_token_types")
        .setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addInt64Data(0));
    graph.addNode(0, Onnx.NodeProto.newBuilder().setOpType("Mul").setName("token_types_from_ids")
        .addInput("input_ids").addInput("zero_for_token_types").addOutput("token_type_ids"));
    Files.write(folder.resolve("model.onnx"), model.build().toByteArray());
    try (Predictor fed = load(fp32, "auto", 16); Predictor declared = load(folder, "auto", 16)) {
      assertEquals(Set.of("input_ids", "attention_mask"), ((OnnxScoringModel) declared.model()).inputs());
      Prediction[] expected = fed.predict(TEXTS);
      Prediction[] got = declared.predict(TEXTS);
      for (int i = 0; i < TEXTS.size(); i++) {
        if (expected[i].scored()) {
          assertArrayEquals(expected[i].probabilities(), got[i].probabilities(), 1e-6, TEXTS.get(i));
        }
      }
    }
  }

  @Test
  void aGraphWithAnInputTextsparkCannotFeedIsRefusedWhenLoaded() throws Exception {
    Path folder = dir.resolve("extra-input");
    Files.createDirectories(folder);
    for (String file : List.of("config.json", "tokenizer.json", "_textspark.json")) {
      Files.copy(fp32.resolve(file), folder.resolve(file));
    }
    Onnx.ModelProto.Builder model = Onnx.ModelProto.parseFrom(Files.readAllBytes(fp32.resolve("model.onnx")))
        .toBuilder();
    model.getGraphBuilder().addInput(model.getGraph().getInput(0).toBuilder().setName("pixel_values"));
    Files.write(folder.resolve("model.onnx"), model.build().toByteArray());
    TextSparkException e = assertThrows(TextSparkException.class, () -> load(folder, "auto", 16));
    assertTrue(e.getMessage().contains("\"pixel_values\"") && e.getMessage().contains("textspark export"),
        e.getMessage());
  }

  @Test
  void anInt8ExportRunsTheSameWayCloseToFp32() {
    try (Predictor onnx = load(fp32, "auto", 16); Predictor q = load(int8, "auto", 16)) {
      assertEquals(Engine.ONNXRUNTIME, q.engine());
      Prediction[] expected = onnx.predict(TEXTS);
      Prediction[] got = q.predict(TEXTS);
      int scored = 0;
      int same = 0;
      for (int i = 0; i < TEXTS.size(); i++) {
        assertEquals(expected[i].scored(), got[i].scored());
        assertEquals(expected[i].truncated(), got[i].truncated());
        assertEquals(expected[i].tokens(), got[i].tokens());
        if (expected[i].scored()) {
          // A 32-wide random model quantizes coarsely (activation scales per batch); MiniLM's int8 MCC
          // is checked by bench-score. Here: the same pipeline, probabilities near fp32's.
          assertArrayEquals(expected[i].probabilities(), got[i].probabilities(), 0.15, TEXTS.get(i));
          assertEquals(1.0, got[i].probability(0) + got[i].probability(1), 1e-9);
          scored++;
          same += expected[i].index() == got[i].index() ? 1 : 0;
        }
      }
      assertTrue(same >= scored - 2, same + " of " + scored + " labels as fp32");
    }
  }

  @Test
  void executorsShareOneSessionPerModelAndThreadCount() {
    ResolvedModel resolved = ResolvedModel.resolve(fp32.toString(), HUB, Engine.AUTO, 16, new Configuration());
    assertEquals(Engine.ONNXRUNTIME, resolved.engine());
    ModelBundle bundle = resolved.bundle();
    assertEquals(Engine.ONNXRUNTIME, bundle.engine());
    InferenceSettings settings = new InferenceSettings(16, 3, "auto", 2, "auto");
    IllegalArgumentException unresolved = assertThrows(IllegalArgumentException.class,
        () -> Predictor.open(bundle.key(), () -> bundle, settings));
    assertTrue(unresolved.getMessage().contains("resolved on the driver"), unresolved.getMessage());
    InferenceSettings onExecutor = settings.withEngine(resolved.engine());
    int before = ModelCache.loaded();
    Predictor first = Predictor.open(bundle.key(), () -> bundle, onExecutor);
    try (Predictor second = Predictor.open(bundle.key(), () -> {
      throw new AssertionError("the JVM's session is reused, the broadcast not read again");
    }, onExecutor)) {
      assertSame(first.model(), second.model());
      assertEquals(2, ((OnnxScoringModel) second.model()).threads());
      first.close();
      assertEquals(TEXTS.size(), second.predict(TEXTS).length, "the shared session outlives the first predictor");
    }
    assertEquals(before + 1, ModelCache.loaded());
  }

  @Test
  void theEngineChoiceRefusesWhatItCannotRunNamingTheFix() {
    TextSparkException notExport = assertThrows(TextSparkException.class,
        () -> load(checkpoint, "onnxruntime", 16));
    assertTrue(notExport.getMessage().contains("has no model.onnx")
        && notExport.getMessage().contains("textspark export"), notExport.getMessage());
    TextSparkException noWeights = assertThrows(TextSparkException.class, () -> load(fp32, "pytorch", 16));
    assertTrue(noWeights.getMessage().contains("is an ONNX export")
        && noWeights.getMessage().contains("onnxruntime"), noWeights.getMessage());
    TextSparkException gpu = assertThrows(TextSparkException.class, () -> Predictor.load(fp32.toString(), HUB,
        new InferenceSettings(16, 3, "gpu", 1, "auto"), new Configuration()));
    assertTrue(gpu.getMessage().contains("device = gpu"), gpu.getMessage());
    TextSparkException tooLong = assertThrows(TextSparkException.class, () -> load(fp32, "auto", 200));
    assertTrue(tooLong.getMessage().contains("max_length = 200"), tooLong.getMessage());
    TextSparkException engine = assertThrows(TextSparkException.class,
        () -> new InferenceSettings(0, 8, "cpu", 0, "tensorrt"));
    assertTrue(engine.getMessage().contains("engine = \"tensorrt\""), engine.getMessage());
  }
}
