package io.textspark.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.ConfigError;
import io.textspark.config.TextSparkConfig;
import io.textspark.testing.Reference;
import io.textspark.inference.ScoringModel;
import io.textspark.model.Safetensors;
import io.textspark.testing.Files2;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyBert;
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
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The score job: a Parquet table in, the same rows with predictions out, atomically; and its refusals. */
class ScoreJobTest {
  private static final String LONG_TEXT = String.join(" ", Collections.nCopies(30, "the students sent books"));
  private static final List<String> TEXTS = Arrays.asList("The book was written by John.", null, "", LONG_TEXT,
      "She sang.", "Who did you see?", "Books were sent to each other by the students.");

  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;
  private static Path table;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void fixtures() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 31);
    table = dir.resolve("input");
    SparkSession spark = SharedSpark.get();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < TEXTS.size(); i++) {
      rows.add(RowFactory.create(i, RowFactory.create("src" + i, i * 0.5), TEXTS.get(i)));
    }
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("meta", new StructType().add("source", DataTypes.StringType).add("weight", DataTypes.DoubleType))
        .add("text", DataTypes.StringType);
    spark.createDataFrame(new JavaSparkContext(spark.sparkContext()).parallelize(rows, 2), schema)
        .write().parquet(table.toString());
  }

  private TextSparkConfig config(String... overrides) {
    List<String> all = new ArrayList<>(List.of("score.input=" + table, "score.model=" + checkpoint,
        "score.max_length=16", "score.batch_size=2", "score.window_batches=2"));
    all.addAll(List.of(overrides));
    return TextSparkConfig.load(List.of(), all);
  }

  private ScoreJob.Report score(TextSparkConfig config) {
    return ScoreJob.run(spark, config, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  /** Runs {@code job}, expects it to fail naming {@code expected}, and checks {@code out} was not created. */
  private static void refused(Class<? extends Throwable> type, String expected, Path out, Executable job) {
    Throwable e = assertThrows(type, job::execute);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertFalse(Files.exists(out), "nothing written at " + out);
    assertEquals(List.of(), Files2.tree(out.getParent()).stream().filter(f -> f.contains(".staging-")).toList(),
        "no staging folder left");
  }

  /** A test's own stand-in for JUnit's Executable, so lambdas may throw checked exceptions. */
  @FunctionalInterface
  interface Executable {
    void execute() throws Throwable;
  }

  @Test
  void writesTheSameRowsWithPredictionsAtomicallyAndCountsThem() throws IOException {
    Path out = tmp.resolve("scored");
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    ScoreJob.Report report = ScoreJob.run(spark, config("score.output=" + out),
        new PrintStream(printed, true, StandardCharsets.UTF_8));

    assertEquals(7, report.rows());
    assertEquals(6, report.scored());
    assertEquals(1, report.nullText());
    assertEquals(1, report.truncated());
    assertEquals(1, report.empty());
    assertEquals(0, report.failed());
    assertEquals(7, report.timings().rows());
    String text = printed.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("7 rows, 6 scored, 1 null text, 0 not tokenizable, 1 truncated at 16 tokens, 1 empty"),
        text);

    JsonObject marker = marker(out);
    assertEquals("score", marker.get("stage").getAsString());
    assertEquals(7, marker.get("rows").getAsLong());
    assertEquals(1, marker.get("null_text").getAsLong());
    assertEquals("acceptable", marker.get("score_label").getAsString());
    assertEquals(2, Files2.tree(out).stream().filter(f -> f.startsWith("part-") && f.endsWith(".parquet")).count(),
        "one file per input partition");
    assertEquals(List.of("scored"), Files2.tree(tmp).stream().filter(f -> !f.contains("/")).toList(),
        "no staging folder left beside the output");

    try (ScoringModel model = Reference.load(checkpoint)) {
      Dataset<Row> written = spark.read().parquet(out.toString()).orderBy("id");
      assertEquals(spark.read().parquet(table.toString()).schema().add("prediction", DataTypes.StringType)
          .add("prediction_index", DataTypes.IntegerType)
          .add("probabilities", DataTypes.createArrayType(DataTypes.DoubleType, true))
          .add("score", DataTypes.DoubleType).add("score_error", DataTypes.StringType)
          .add("score_truncated", DataTypes.BooleanType).simpleString(), written.schema().simpleString());
      for (Row r : written.collectAsList()) {
        int id = r.getInt(0);
        assertEquals("src" + id, r.getStruct(1).getString(0), "nested column kept");
        String t = TEXTS.get(id);
        if (t == null) {
          assertEquals("text is null", r.getString(r.fieldIndex("score_error")));
          assertTrue(r.isNullAt(r.fieldIndex("score")));
          continue;
        }
        double[] expected = Reference.probabilities(model, t, 16);
        List<Object> p = r.getList(r.fieldIndex("probabilities"));
        assertArrayEquals(expected, new double[] {(Double) p.get(0), (Double) p.get(1)}, 1e-5, t);
        assertEquals(expected[1], r.getDouble(r.fieldIndex("score")), 1e-5);
        assertEquals(t == LONG_TEXT, r.getBoolean(r.fieldIndex("score_truncated")));
      }
    }
  }

  @Test
  void readsACatalogTableAndHonoursColumnNamesAndRepartitioning() {
    spark.read().parquet(table.toString()).createOrReplaceTempView("score_job_input");
    Path out = tmp.resolve("from-table");
    ScoreJob.Report report = score(config("score.input=score_job_input", "score.output=" + out,
        "score.partitions=3", "score.prediction_col=cola", "score.score_col=p", "score.score_label=unacceptable"));
    assertEquals(7, report.rows());
    Row first = spark.read().parquet(out.toString()).where("id = 0").first();
    double[] p = {(Double) first.getList(first.fieldIndex("probabilities")).get(0),
        (Double) first.getList(first.fieldIndex("probabilities")).get(1)};
    assertEquals(p[0], first.getDouble(first.fieldIndex("p")), 1e-12, "score is P(unacceptable)");
    assertEquals(p[0] > p[1] ? "unacceptable" : "acceptable", first.getString(first.fieldIndex("cola")));
    assertEquals(3, Files2.tree(out).stream().filter(f -> f.startsWith("part-")).count());
  }

  @Test
  void keepsTheFolderPartitioningOfTheInput() {
    Path partitioned = tmp.resolve("by-lang");
    spark.read().parquet(table.toString()).selectExpr("*", "IF(id % 2 = 0, 'en', 'fr') AS lang")
        .write().partitionBy("lang").parquet(partitioned.toString());
    Path out = tmp.resolve("scored-by-lang");
    ScoreJob.Report report = score(config("score.input=" + partitioned, "score.output=" + out));
    assertEquals(7, report.rows());
    assertEquals(1, report.nullText());
    assertTrue(Files.isDirectory(out.resolve("lang=en")) && Files.isDirectory(out.resolve("lang=fr")),
        Files2.tree(out).toString());
    assertEquals("[\"lang\"]", marker(out).get("partition_by").toString());
    assertEquals(4, spark.read().parquet(out.toString()).where("lang = 'en'").count());
    assertEquals(List.of(), spark.read().parquet(out.toString()).where("lang = 'fr' AND id % 2 = 0")
        .collectAsList());
  }

  @Test
  void anEmptyTableGivesAnEmptyCommittedOutput() {
    Path empty = tmp.resolve("empty-input");
    spark.read().parquet(table.toString()).limit(0).write().parquet(empty.toString());
    Path out = tmp.resolve("empty-output");
    ScoreJob.Report report = score(config("score.input=" + empty, "score.output=" + out));
    assertEquals(0, report.rows());
    assertEquals(0, marker(out).get("rows").getAsLong());
    assertEquals(0, spark.read().parquet(out.toString()).count());
    assertTrue(Arrays.asList(spark.read().parquet(out.toString()).columns()).contains("probabilities"));
  }

  @Test
  void anExistingOutputIsKeptUnlessOverwriteIsGiven() throws IOException {
    Path out = tmp.resolve("existing");
    Files.createDirectories(out);
    Files.writeString(out.resolve("precious.txt"), "keep me");
    TextSparkException e = assertThrows(TextSparkException.class, () -> score(config("score.output=" + out)));
    assertTrue(e.getMessage().contains("already exists") && e.getMessage().contains("--overwrite"), e.getMessage());
    assertEquals(List.of("precious.txt"), Files2.tree(out));

    score(config("score.output=" + out, "score.overwrite=true"));
    assertFalse(Files.exists(out.resolve("precious.txt")));
    assertTrue(Files.exists(out.resolve("_textspark.json")));
  }

  @Test
  void badInputFailsBeforeWritingAnything() throws IOException {
    Path out = tmp.resolve("out");
    refused(TextSparkException.class, "does not exist", out,
        () -> score(config("score.input=" + tmp.resolve("missing"), "score.output=" + out)));
    refused(TextSparkException.class, "no column \"sentence\"", out,
        () -> score(config("score.output=" + out, "score.text_col=sentence")));
    refused(TextSparkException.class, "id (int), meta (struct<source:string,weight:double>), text (string)", out,
        () -> score(config("score.output=" + out, "score.text_col=sentence")));
    refused(TextSparkException.class, "has type struct<source:string,weight:double>, but a string column", out,
        () -> score(config("score.output=" + out, "score.text_col=meta")));
    refused(ConfigError.class, "score.input", out, () -> score(config("score.input=", "score.output=" + out)));
    refused(ConfigError.class, "score.output", out, () -> score(config()));
    refused(ConfigError.class, "score.device", out, () -> score(config("score.output=" + out, "score.device=tpu")));
    refused(ConfigError.class, "score.progress_every", out,
        () -> score(config("score.output=" + out, "score.progress_every=-5s")));
    refused(ConfigError.class, "a duration such as 30s", out,
        () -> score(config("score.output=" + out, "score.progress_every=often")));
    refused(TextSparkException.class, "overlaps the input", table.resolve("scored"),
        () -> score(config("score.output=" + table.resolve("scored"))));
    refused(TextSparkException.class, "only 128 positions", out,
        () -> score(config("score.output=" + out, "score.max_length=256")));

    Path notParquet = tmp.resolve("not-parquet");
    Files.createDirectories(notParquet);
    Files.writeString(notParquet.resolve("data.csv"), "a,b\n1,2\n");
    refused(TextSparkException.class, "as a Parquet table", out,
        () -> score(config("score.input=" + notParquet, "score.output=" + out)));
  }

  @Test
  void aModelThatIsNotAValidCheckpointIsRefusedBeforeWriting() throws IOException {
    Path out = tmp.resolve("out");
    Path uncommitted = tmp.resolve("uncommitted");
    Files.createDirectories(uncommitted);
    Files.writeString(uncommitted.resolve("trainer_state.json"), "{}");
    refused(TextSparkException.class, "is not committed", out,
        () -> score(config("score.output=" + out, "score.model=" + uncommitted)));

    Path empty = tmp.resolve("empty-model");
    Files.createDirectories(empty);
    refused(TextSparkException.class, "has no usable config.json", out,
        () -> score(config("score.output=" + out, "score.model=" + empty)));

    Path corrupt = TinyModel.checkpoint(tmp.resolve("corrupt"), 32);
    byte[] weights = Files.readAllBytes(corrupt.resolve("model.safetensors"));
    weights[weights.length - 1] ^= 1;
    Files.write(corrupt.resolve("model.safetensors"), weights);
    refused(TextSparkException.class, "model.safetensors", out,
        () -> score(config("score.output=" + out, "score.model=" + corrupt)));

    Map<String, Safetensors.Tensor> encoderOnly = TinyModel.weights(33);
    encoderOnly.remove("classifier.weight");
    encoderOnly.remove("classifier.bias");
    Path noHead = TinyModel.checkpoint(tmp.resolve("no-head"), encoderOnly);
    refused(TextSparkException.class, "no trained classification head", out,
        () -> score(config("score.output=" + out, "score.model=" + noHead)));

    Path gpt2 = TinyBert.writeFolderOfModelType(tmp.resolve("gpt2-like"), 34, "gpt2");
    refused(TextSparkException.class, "has model_type \"gpt2\", which textspark does not support; supported: bert",
        out, () -> score(config("score.output=" + out, "score.model=" + gpt2)));

    refused(TextSparkException.class, "no checkpoint found", out,
        () -> score(config("score.output=" + out, "score.model=", "train.output_dir=" + tmp.resolve("no-run"))));
  }

  @Test
  void aFailureInsideTheTasksLeavesNoOutput() {
    // No GPU here, so the tasks themselves fail after the output's staging folder exists.
    Path out = tmp.resolve("out");
    refused(TextSparkException.class, "no CUDA device", out,
        () -> score(config("score.output=" + out, "score.device=gpu")));
  }

  @Test
  void withoutAModelTheBestCheckpointOfTheTrainingRunIsUsed() {
    Path out = tmp.resolve("best");
    ScoreJob.Report report = score(config("score.output=" + out, "score.model=",
        "train.output_dir=" + dir.resolve("run")));
    assertEquals(7, report.rows());
    JsonObject marker = marker(out);
    assertEquals(checkpoint, Path.of(java.net.URI.create(marker.get("model").getAsString())));
  }

  private static JsonObject marker(Path out) {
    try {
      return JsonParser.parseString(Files.readString(out.resolve("_textspark.json"))).getAsJsonObject();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
