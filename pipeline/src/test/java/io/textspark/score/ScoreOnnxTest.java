package io.textspark.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.TextSparkConfig;
import io.textspark.export.ExportJob;
import io.textspark.export.OnnxExport;
import io.textspark.inference.Engine;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The score job and transformer on an ONNX export folder: ONNX Runtime in the tasks of local Spark,
 * the same columns, nulls and truncation flags as the checkpoint on PyTorch, and the engine refusals.
 */
class ScoreOnnxTest {
  private static final String LONG_TEXT = String.join(" ", Collections.nCopies(30, "the students sent books"));
  private static final List<String> TEXTS = Arrays.asList("The book was written by John.", null, "", LONG_TEXT,
      "She sang.", "Who did you see?", "Books were sent to each other by the students.");

  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;
  private static Path export;
  private static Path table;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void fixtures() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 31);
    export = dir.resolve("export");
    ExportJob.export(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        new org.apache.hadoop.fs.Path(export.toUri()), OnnxExport.Options.fp32(), new Configuration());
    table = dir.resolve("input");
    SparkSession spark = SharedSpark.get();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < TEXTS.size(); i++) {
      rows.add(RowFactory.create(i, TEXTS.get(i)));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
    spark.createDataFrame(new JavaSparkContext(spark.sparkContext()).parallelize(rows, 2), schema)
        .write().parquet(table.toString());
  }

  private ScoreJob.Report score(Path model, Path out, String... overrides) {
    List<String> all = new ArrayList<>(List.of("score.input=" + table, "score.model=" + model,
        "score.output=" + out, "score.max_length=16", "score.batch_size=2", "score.window_batches=2"));
    all.addAll(List.of(overrides));
    return ScoreJob.run(spark, TextSparkConfig.load(List.of(), all),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  @Test
  void anExportFolderScoresOnOnnxRuntimeWithTheColumnsAndValuesOfItsCheckpoint() throws IOException {
    Path onnx = tmp.resolve("onnx");
    Path pytorch = tmp.resolve("pytorch");
    ScoreJob.Report report = score(export, onnx);
    score(checkpoint, pytorch);
    assertEquals(7, report.rows());
    assertEquals(1, report.nullText());
    assertEquals(1, report.truncated());
    assertEquals("onnxruntime", marker(onnx).get("engine").getAsString());
    assertEquals("pytorch", marker(pytorch).get("engine").getAsString());
    List<Row> a = spark.read().parquet(onnx.toString()).orderBy("id").collectAsList();
    List<Row> b = spark.read().parquet(pytorch.toString()).orderBy("id").collectAsList();
    assertEquals(spark.read().parquet(pytorch.toString()).schema().simpleString(),
        spark.read().parquet(onnx.toString()).schema().simpleString(), "the same columns");
    for (int i = 0; i < a.size(); i++) {
      Row x = a.get(i);
      Row y = b.get(i);
      for (String column : List.of("id", "text", "prediction", "prediction_index", "score_error", "score_truncated")) {
        assertEquals(y.<Object>getAs(column), x.<Object>getAs(column), column + " of row " + i);
      }
      if (TEXTS.get(i) == null) {
        assertTrue(x.isNullAt(x.fieldIndex("probabilities")) && x.isNullAt(x.fieldIndex("score")));
        continue;
      }
      assertArrayEquals(probabilities(y), probabilities(x), 1e-4, TEXTS.get(i));
      assertEquals(y.getDouble(y.fieldIndex("score")), x.getDouble(x.fieldIndex("score")), 1e-4);
    }
  }

  @Test
  void theTransformerTakesTheEngineAsAParamAndKeepsItWhenSaved() {
    TextClassifierModel model = new TextClassifierModel().setModelPath(export.toString()).setEngine("ONNXRuntime")
        .setMaxLength(16);
    assertEquals("onnxruntime", model.getEngine());
    ScoringPlan plan = model.prepare(spark);
    try {
      assertEquals(Engine.ONNXRUNTIME, plan.engine());
      assertEquals(16, plan.maxLength());
      List<Row> rows = plan.transform(spark.read().parquet(table.toString())).collectAsList();
      assertEquals(7, rows.size());
    } finally {
      plan.release();
    }
    String saved = tmp.resolve("transformer").toString();
    try {
      model.write().save(saved);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertEquals("onnxruntime", TextClassifierModel.load(saved).getEngine());
    assertThrows(IllegalArgumentException.class, () -> new TextClassifierModel().setEngine("tensorrt"));
  }

  @Test
  void theEngineRefusesAFolderItCannotRunAndWritesNothing() {
    Path out = tmp.resolve("refused");
    TextSparkException notExport = assertThrows(TextSparkException.class,
        () -> score(checkpoint, out, "score.engine=onnxruntime"));
    assertTrue(notExport.getMessage().contains("textspark export"), notExport.getMessage());
    assertFalse(Files.exists(out));
    TextSparkException noWeights = assertThrows(TextSparkException.class,
        () -> score(export, out, "score.engine=pytorch"));
    assertTrue(noWeights.getMessage().contains("is an ONNX export"), noWeights.getMessage());
    assertFalse(Files.exists(out));
  }

  private static double[] probabilities(Row r) {
    List<Object> p = r.getList(r.fieldIndex("probabilities"));
    return new double[] {(Double) p.get(0), (Double) p.get(1)};
  }

  private static JsonObject marker(Path out) throws IOException {
    return JsonParser.parseString(Files.readString(out.resolve("_textspark.json"))).getAsJsonObject();
  }
}
