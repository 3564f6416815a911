package io.textspark.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.inference.ModelCache;
import io.textspark.testing.Reference;
import io.textspark.inference.ScoringModel;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.collection.immutable.ArraySeq;

/** The Spark ML transformer on the small fixed model, on local Spark. */
class TextClassifierModelTest {
  private static final String LONG_TEXT = String.join(" ", Collections.nCopies(40, "books were sent"));
  private static final List<String> TEXTS = Arrays.asList("The book was written by John.", null,
      "Books were sent to each other by the students.", "", "She sang.", LONG_TEXT, "Who did you see?");

  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;
  private static ScoringModel reference;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void model() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 21);
    reference = Reference.load(checkpoint);
  }

  @AfterAll
  static void close() {
    reference.close();
  }

  /** TEXTS with an id, in {@code partitions} partitions, kept in order. */
  private Dataset<Row> texts(int partitions) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < TEXTS.size(); i++) {
      rows.add(RowFactory.create((long) i, TEXTS.get(i)));
    }
    StructType schema = new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
    return spark.createDataFrame(new JavaSparkContext(spark.sparkContext()).parallelize(rows, partitions), schema);
  }

  private TextClassifierModel transformer() {
    return new TextClassifierModel().setModelPath(checkpoint.toString()).setMaxLength(16).setBatchSize(2)
        .setWindowBatches(1);
  }

  private static double[] doubles(Row row, String column) {
    List<Object> list = row.getList(row.fieldIndex(column));
    double[] out = new double[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (Double) list.get(i);
    }
    return out;
  }

  @Test
  void addsPredictionColumnsWithTheProbabilitiesOfEachTextScoredAlone() {
    List<Row> out = transformer().transform(texts(2)).collectAsList();
    assertEquals(TEXTS.size(), out.size());
    for (int i = 0; i < out.size(); i++) {
      Row r = out.get(i);
      assertEquals(i, r.getLong(0), "row order");
      String text = TEXTS.get(i);
      if (text == null) {
        assertTrue(r.isNullAt(r.fieldIndex("prediction")));
        assertTrue(r.isNullAt(r.fieldIndex("prediction_index")));
        assertTrue(r.isNullAt(r.fieldIndex("probabilities")));
        assertTrue(r.isNullAt(r.fieldIndex("score")));
        assertEquals("text is null", r.getString(r.fieldIndex("score_error")));
        assertFalse(r.getBoolean(r.fieldIndex("score_truncated")));
        continue;
      }
      double[] expected = Reference.probabilities(reference, text, 16);
      assertArrayEquals(expected, doubles(r, "probabilities"), 1e-5, text);
      assertEquals(expected[1], r.getDouble(r.fieldIndex("score")), 1e-5, "score is P(acceptable)");
      int best = expected[1] > expected[0] ? 1 : 0;
      assertEquals(best, r.getInt(r.fieldIndex("prediction_index")));
      assertEquals(best == 1 ? "acceptable" : "unacceptable", r.getString(r.fieldIndex("prediction")));
      assertNull(r.getString(r.fieldIndex("score_error")));
      assertEquals(text == LONG_TEXT, r.getBoolean(r.fieldIndex("score_truncated")), text);
    }
  }

  @Test
  void aHeadThatIgnoresTheTextScoresThreeQuartersAndTheScoreLabelPicksTheColumn() {
    Path constant = TinyModel.checkpoint(tmp.resolve("constant"), TinyModel.constantHead(21));
    TextClassifierModel t = new TextClassifierModel().setModelPath(constant.toString());
    for (Row r : t.transform(texts(1).na().drop()).collectAsList()) {
      assertArrayEquals(new double[] {0.25, 0.75}, doubles(r, "probabilities"), 1e-6);
      assertEquals(0.75, r.getDouble(r.fieldIndex("score")), 1e-6);
      assertEquals("acceptable", r.getString(r.fieldIndex("prediction")));
    }
    Row unacceptable = t.setScoreLabel("unacceptable").transform(texts(1).na().drop()).first();
    assertEquals(0.25, unacceptable.getDouble(unacceptable.fieldIndex("score")), 1e-6);
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> t.setScoreLabel("grammatical").transform(texts(1)));
    assertTrue(e.getMessage().contains("[unacceptable, acceptable]"), e.getMessage());
  }

  @Test
  void keepsEveryColumnNestedOnesIncludedAndTheRowOrderAndPartitions() {
    StructType meta = new StructType().add("source", DataTypes.StringType)
        .add("tags", DataTypes.createArrayType(DataTypes.StringType))
        .add("inner", new StructType().add("x", DataTypes.IntegerType));
    StructType schema = new StructType()
        .add("id", DataTypes.IntegerType)
        .add("meta", meta)
        .add("text", DataTypes.StringType)
        .add("weights", DataTypes.createArrayType(DataTypes.DoubleType))
        .add("counts", DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType))
        .add("score_note", DataTypes.StringType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      Row inner = RowFactory.create(i * 10);
      Row m = RowFactory.create(i % 2 == 0 ? "in" : null, ArraySeq.unsafeWrapArray(new String[] {"t" + i, "u"}),
          i % 5 == 0 ? null : inner);
      rows.add(RowFactory.create(i, m, i % 7 == 3 ? null : "Sentence number " + i + " was written.",
          ArraySeq.unsafeWrapArray(new Object[] {0.5 * i, -1.0}),
          scala.collection.immutable.Map$.MODULE$.from(scala.jdk.javaapi.CollectionConverters.asScala(
              Map.of("n", i))),
          "note " + i));
    }
    Dataset<Row> input = spark.createDataFrame(new JavaSparkContext(spark.sparkContext()).parallelize(rows, 3), schema);
    Dataset<Row> scored = transformer().transform(input);

    assertEquals(3, scored.rdd().getNumPartitions());
    StructType expectedSchema = schema.add("prediction", DataTypes.StringType).add("prediction_index",
        DataTypes.IntegerType).add("probabilities", DataTypes.createArrayType(DataTypes.DoubleType, false))
        .add("score", DataTypes.DoubleType).add("score_error", DataTypes.StringType)
        .add("score_truncated", DataTypes.BooleanType, false);
    assertEquals(expectedSchema.simpleString(), scored.schema().simpleString());
    List<List<Row>> before = input.toJavaRDD().glom().collect();
    List<List<Row>> after = scored.toJavaRDD().glom().collect();
    assertEquals(before.size(), after.size());
    for (int p = 0; p < before.size(); p++) {
      assertEquals(before.get(p).size(), after.get(p).size(), "rows of partition " + p);
      for (int i = 0; i < before.get(p).size(); i++) {
        Row in = before.get(p).get(i);
        Row out = after.get(p).get(i);
        for (int c = 0; c < schema.size(); c++) {
          assertEquals(in.get(c), out.get(c), "partition " + p + " row " + i + " column " + schema.fields()[c].name());
        }
        assertEquals(in.isNullAt(2), out.isNullAt(schema.size()), "null text, null prediction");
      }
    }
  }

  @Test
  void theModelIsBuiltOncePerJvmAcrossPartitionsAndTransforms() {
    Path fresh = TinyModel.checkpoint(tmp.resolve("once"), 77);
    int before = ModelCache.loaded();
    TextClassifierModel t = new TextClassifierModel().setModelPath(fresh.toString());
    assertEquals(TEXTS.size(), t.transform(texts(3)).count());
    assertEquals(TEXTS.size(), t.transform(texts(2)).collectAsList().size());
    assertEquals(1, ModelCache.loaded() - before, "one model for 5 partitions in 2 jobs");
  }

  @Test
  void savedAndReloadedAloneAndInsideAPipelineGivesIdenticalOutputs() throws IOException {
    TextClassifierModel t = new TextClassifierModel().setModelPath(checkpoint.toString()).setInputCol("lowered")
        .setOutputCol("cola").setScoreCol("p_unacceptable").setScoreLabel("unacceptable").setMaxLength(16)
        .setBatchSize(3).setWindowBatches(2).setThreads(1).setDevice("cpu");
    Dataset<Row> input = texts(2).selectExpr("id", "text", "lower(text) AS lowered");
    List<Row> expected = t.transform(input).collectAsList();

    String alone = tmp.resolve("alone").toString();
    t.write().save(alone);
    TextClassifierModel loaded = TextClassifierModel.load(alone);
    assertEquals(t.uid(), loaded.uid());
    assertEquals(t.extractParamMap().toString(), loaded.extractParamMap().toString());
    assertEquals(expected, loaded.transform(input).collectAsList());

    SQLTransformer lower = new SQLTransformer().setStatement("SELECT id, text, lower(text) AS lowered FROM __THIS__");
    PipelineModel pipeline = new Pipeline().setStages(new PipelineStage[] {lower, t}).fit(texts(2));
    String saved = tmp.resolve("pipeline").toString();
    pipeline.write().save(saved);
    PipelineModel reloaded = PipelineModel.load(saved);
    assertTrue(reloaded.stages()[1] instanceof TextClassifierModel);
    assertEquals("cola", ((TextClassifierModel) reloaded.stages()[1]).getOutputCol());
    assertEquals(expected, reloaded.transform(texts(2)).collectAsList());
  }

  @Test
  void badInputNamesTheProblemAndTheFix() {
    TextClassifierModel t = transformer();
    TextSparkException missing = assertThrows(TextSparkException.class,
        () -> t.setInputCol("sentence").transform(texts(1)));
    assertTrue(missing.getMessage().contains("no column \"sentence\""), missing.getMessage());
    assertTrue(missing.getMessage().contains("id (bigint), text (string)"), "lists the columns: " + missing.getMessage());

    TextSparkException notString = assertThrows(TextSparkException.class,
        () -> t.setInputCol("id").transform(texts(1)));
    assertTrue(notString.getMessage().contains("has type bigint, but a string column is needed"),
        notString.getMessage());

    Dataset<Row> base = texts(1);
    Dataset<Row> clash = base.withColumn("score", base.col("id"));
    TextSparkException taken = assertThrows(TextSparkException.class, () -> t.setInputCol("text").transform(clash));
    assertTrue(taken.getMessage().contains("already has a column \"score\""), taken.getMessage());

    Dataset<Row> upper = base.withColumn("Score", base.col("id"));
    TextSparkException ignoringCase = assertThrows(TextSparkException.class,
        () -> t.setInputCol("text").transform(upper));
    assertTrue(ignoringCase.getMessage().contains("already has a column \"Score\""), ignoringCase.getMessage());

    TextSparkException twice = assertThrows(TextSparkException.class,
        () -> transformer().setScoreCol("prediction").transform(texts(1)));
    assertTrue(twice.getMessage().contains("\"prediction\" is used twice"), twice.getMessage());

    TextSparkException unset = assertThrows(TextSparkException.class,
        () -> new TextClassifierModel().transform(texts(1)));
    assertTrue(unset.getMessage().contains("setModelPath"), unset.getMessage());

    assertThrows(IllegalArgumentException.class, () -> transformer().setBatchSize(0));
    assertThrows(IllegalArgumentException.class, () -> transformer().setDevice("tpu"));

    TextSparkException noSave = assertThrows(TextSparkException.class,
        () -> TextClassifierModel.load(tmp.resolve("nothing-here").toString()));
    assertTrue(noSave.getMessage().contains("no saved TextClassifierModel"), noSave.getMessage());
  }
}
