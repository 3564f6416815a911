package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.config.TextSparkConfig;
import io.textspark.export.ExportJob;
import io.textspark.export.OnnxExport;
import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The score, predict and bench-score commands as the command line runs them: output and exit codes. */
class ScoreCliTest {
  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;
  private static Path constant;
  private static Path table;

  /** Exit code, stdout and stderr of one command. */
  record Run(int code, String out, String err) {}

  @BeforeAll
  static void fixtures() {
    SparkSession spark = SharedSpark.get(); // the commands' getOrCreate() then reuses the test session
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 51);
    constant = TinyModel.checkpoint(dir.resolve("constant"), TinyModel.constantHead(51));
    table = dir.resolve("sentences");
    StructType schema = new StructType().add("id", DataTypes.IntegerType).add("sentence", DataTypes.StringType);
    spark.createDataFrame(List.of(RowFactory.create(1, "The book was written by John."),
        RowFactory.create(2, "Books were sent to each other by the students."), RowFactory.create(3, null)), schema)
        .write().parquet(table.toString());
  }

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    // The commands print to System.out, as they do under spark-submit; capture it too.
    PrintStream captured = new PrintStream(out, true, StandardCharsets.UTF_8);
    System.setOut(captured);
    int code;
    try {
      code = TextSpark.execute(args, captured, new PrintStream(err, true, StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
    }
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void scoreWritesTheTableAndPrintsTheCounts() {
    Path out = tmp.resolve("scored");
    Run r = run("score", "--input", table.toString(), "--output", out.toString(), "--text-col", "sentence",
        "--model", checkpoint.toString(), "score.max_length=32");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("3 rows, 2 scored, 1 null text, 0 not tokenizable, 0 truncated at 32 tokens"),
        r.out());
    assertTrue(Files.isRegularFile(out.resolve("_textspark.json")));
    assertEquals(3, SharedSpark.get().read().parquet(out.toString()).count());
  }

  @Test
  void scoreFailuresExitWithOneOrTwoAndWriteNothing() throws IOException {
    Path out = tmp.resolve("out");
    Run noInput = run("score", "--output", out.toString(), "--model", checkpoint.toString());
    assertEquals(TextSpark.EXIT_USAGE, noInput.code(), noInput.err());
    assertTrue(noInput.err().contains("score.input"), noInput.err());

    Run missing = run("score", "--input", tmp.resolve("nope").toString(), "--output", out.toString(),
        "--model", checkpoint.toString());
    assertEquals(TextSpark.EXIT_FAILED, missing.code());
    assertTrue(missing.err().contains("does not exist"), missing.err());
    assertFalse(missing.err().contains("\tat "), "no stack trace for a user error: " + missing.err());

    Run column = run("score", "--input", table.toString(), "--output", out.toString(), "--model",
        checkpoint.toString());
    assertEquals(TextSpark.EXIT_FAILED, column.code());
    assertTrue(column.err().contains("no column \"text\"") && column.err().contains("sentence (string)"),
        column.err());

    Run model = run("score", "--input", table.toString(), "--output", out.toString(), "--text-col", "sentence",
        "--model", tmp.resolve("no-model").toString());
    assertEquals(TextSpark.EXIT_FAILED, model.code());
    assertTrue(model.err().contains("no-model"), model.err());

    Run badValue = run("score", "--input", table.toString(), "--output", out.toString(), "--batch-size", "0");
    assertEquals(TextSpark.EXIT_USAGE, badValue.code());
    assertTrue(badValue.err().contains("score.batch_size = 0"), badValue.err());
    assertEquals(List.of(), Files2.tree(tmp), "nothing written by any failed run");

    Files.createDirectories(out);
    Run exists = run("score", "--input", table.toString(), "--output", out.toString(), "--text-col", "sentence",
        "--model", checkpoint.toString());
    assertEquals(TextSpark.EXIT_FAILED, exists.code());
    assertTrue(exists.err().contains("--overwrite"), exists.err());
    assertEquals(List.of("out"), Files2.tree(tmp));
  }

  @Test
  void predictPrintsBothLabelsWithTheirProbabilities() {
    Run r = run("predict", "--model", constant.toString(), "The book was written by John.",
        "Books were sent to each other by the students.");
    assertEquals(0, r.code(), r.err());
    String expected = "1. The book was written by John.\n"
        + "   acceptable    0.7500  <- prediction\n"
        + "   unacceptable  0.2500\n"
        + "2. Books were sent to each other by the students.\n"
        + "   acceptable    0.7500  <- prediction\n"
        + "   unacceptable  0.2500\n";
    assertTrue(r.out().replace("\r\n", "\n").endsWith(expected), r.out());
  }

  @Test
  void predictPrintsJsonAndTakesSentencesThatLookLikeOptions() {
    Run r = run("predict", "--model", checkpoint.toString(), "--json", "John said x=y.", "--", "--dashes--");
    assertEquals(0, r.code(), r.err());
    JsonObject json = JsonParser.parseString(r.out()).getAsJsonObject();
    JsonArray predictions = json.getAsJsonArray("predictions");
    assertEquals(2, predictions.size());
    assertEquals("John said x=y.", predictions.get(0).getAsJsonObject().get("text").getAsString());
    assertEquals("--dashes--", predictions.get(1).getAsJsonObject().get("text").getAsString());
    for (var e : predictions) {
      JsonObject p = e.getAsJsonObject();
      JsonObject probabilities = p.getAsJsonObject("probabilities");
      double unacceptable = probabilities.get("unacceptable").getAsDouble();
      double acceptable = probabilities.get("acceptable").getAsDouble();
      assertEquals(1.0, unacceptable + acceptable, 1e-9);
      assertEquals(acceptable, p.get("score").getAsDouble(), 0);
      assertEquals(acceptable > unacceptable ? "acceptable" : "unacceptable", p.get("prediction").getAsString());
    }
  }

  @Test
  void predictUsageAndModelErrorsExitWithTwoAndOne() {
    Run none = run("predict", "--model", checkpoint.toString());
    assertEquals(TextSpark.EXIT_USAGE, none.code());
    assertTrue(none.err().contains("at least one sentence"), none.err());

    Run badModel = run("predict", "--model", tmp.resolve("nothing").toString(), "A sentence.");
    assertEquals(TextSpark.EXIT_FAILED, badModel.code());
    assertTrue(badModel.err().contains("nothing"), badModel.err());

    Run unknown = run("score", "--", "stray");
    assertEquals(TextSpark.EXIT_USAGE, unknown.code());
    assertTrue(unknown.err().contains("takes no positional arguments"), unknown.err());
  }

  @Test
  void benchScorePrintsThroughputAndTimePerRow() {
    Path root = tmp.resolve("data");
    assertEquals(0, run("download", "data.url=" + Shared.colaZip().toUri(), "data.root=" + root).code());
    Run r = run("bench-score", "data.root=" + root, "--model", checkpoint.toString(), "--rows", "300",
        "bench.score.work_dir=" + tmp.resolve("bench"), "bench.score.pytorch=false");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("replicated to 300 rows"), r.out());
    assertTrue(r.out().contains("300 rows, 300 scored"), r.out());
    assertTrue(r.out().contains("rows/s") && r.out().contains("tokenize") && r.out().contains("read and write"),
        r.out());
    String jsonLine = r.out().lines().filter(l -> l.startsWith("bench-score: {")).findFirst().orElseThrow();
    JsonObject json = JsonParser.parseString(jsonLine.substring("bench-score: ".length())).getAsJsonObject();
    assertEquals(300, json.get("rows").getAsLong());
    assertTrue(json.get("rows_per_second").getAsDouble() > 0);
    assertTrue(json.get("model_ms_per_row").getAsDouble() > 0);
    // Every side of bench.score.engines scored the same rows; ONNX Runtime's from exports it made itself.
    assertTrue(r.out().contains("bench-score side by side: 300 rows"), r.out());
    assertTrue(r.out().contains("exported ") && r.out().contains("(int8, "), r.out());
    String summaryLine = r.out().lines().filter(l -> l.startsWith("bench-score: {") && l.contains("\"sides\""))
        .findFirst().orElseThrow(() -> new AssertionError(r.out()));
    JsonObject summary = JsonParser.parseString(summaryLine.substring("bench-score: ".length())).getAsJsonObject();
    JsonArray sides = summary.getAsJsonArray("sides");
    assertEquals(List.of("pytorch", "onnxruntime", "onnxruntime-int8"),
        sides.asList().stream().map(x -> x.getAsJsonObject().get("side").getAsString()).toList());
    for (var side : sides) {
      JsonObject o = side.getAsJsonObject();
      assertEquals(300, o.get("rows").getAsLong());
      assertTrue(Math.abs(o.get("mcc").getAsDouble()) <= 1, o.toString());
      assertTrue(o.get("share_of_fp32_limit").getAsDouble() > 0, o.toString());
    }
    assertEquals(sides.get(0).getAsJsonObject().get("mcc").getAsDouble(),
        sides.get(1).getAsJsonObject().get("mcc").getAsDouble(), 1e-9, "fp32 ONNX predicts what PyTorch predicts");
    JsonObject limit = summary.getAsJsonObject("compute_limit");
    assertTrue(limit.get("gemm_gflops").getAsDouble() > 0 && limit.get("gflop_per_row").getAsDouble() > 0, limit.toString());
  }

  @Test
  void benchScoreTimesPyTorchOnTheSameRowsWhenTorchIsInstalled() throws Exception {
    String python = null;
    for (String candidate : List.of("python3", "/usr/bin/python3")) {
      try {
        if (new ProcessBuilder(candidate, "-c", "import torch").redirectErrorStream(true).start().waitFor() == 0) {
          python = candidate;
          break;
        }
      } catch (IOException e) {
        // not installed
      }
    }
    assumeTrue(python != null, "no python3 with torch (Debian: python3-torch) is installed");
    Path root = tmp.resolve("data");
    assertEquals(0, run("download", "data.url=" + Shared.colaZip().toUri(), "data.root=" + root).code());
    Run r = run("bench-score", "data.root=" + root, "--model", checkpoint.toString(), "--rows", "300",
        "--engines", "pytorch",
        "bench.train.python=" + python, "bench.train.script=" + Path.of("../bench/pytorch_bert.py").toAbsolutePath());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("PyTorch eager inference on the same 300 rows"), r.out());
    String jsonLine = r.out().lines().filter(l -> l.startsWith("bench-score: {") && l.contains("\"sides\""))
        .findFirst().orElseThrow(() -> new AssertionError(r.out()));
    JsonObject json = JsonParser.parseString(jsonLine.substring("bench-score: ".length())).getAsJsonObject();
    JsonObject pytorch = json.getAsJsonObject("pytorch");
    assertTrue(pytorch.get("rows_per_second").getAsDouble() > 0, pytorch.toString());
    assertEquals(json.get("rows_per_second").getAsDouble() / pytorch.get("rows_per_second").getAsDouble(),
        pytorch.get("ratio_end_to_end").getAsDouble(), 1e-9);
    assertEquals(json.get("mcc").getAsDouble(), pytorch.get("mcc").getAsDouble(), 1e-9,
        "eager PyTorch predicts the validation set as textspark does");
  }

  @Test
  void theEngineFlagRunsAnExportOnOnnxRuntimeOrRefusesWhatItCannotRun() {
    Path export = tmp.resolve("export");
    ExportJob.export(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        new org.apache.hadoop.fs.Path(export.toUri()), OnnxExport.Options.fp32(), new Configuration());
    Run onnx = run("predict", "--model", export.toString(), "--engine", "onnxruntime", "--json", "She sang.");
    assertEquals(0, onnx.code(), onnx.err());
    JsonObject json = JsonParser.parseString(onnx.out()).getAsJsonObject();
    assertEquals("onnxruntime", json.get("engine").getAsString());
    Run pytorch = run("predict", "--model", checkpoint.toString(), "--json", "She sang.");
    assertEquals("pytorch", JsonParser.parseString(pytorch.out()).getAsJsonObject().get("engine").getAsString());
    assertEquals(JsonParser.parseString(pytorch.out()).getAsJsonObject().getAsJsonArray("predictions").get(0)
        .getAsJsonObject().get("score").getAsDouble(),
        json.getAsJsonArray("predictions").get(0).getAsJsonObject().get("score").getAsDouble(), 1e-4);

    Path out = tmp.resolve("scored");
    Run refused = run("score", "--input", table.toString(), "--output", out.toString(), "--text-col", "sentence",
        "--model", export.toString(), "--engine", "pytorch");
    assertEquals(TextSpark.EXIT_FAILED, refused.code(), refused.out());
    assertTrue(refused.err().contains("is an ONNX export"), refused.err());
    assertFalse(Files.exists(out));
    Run bad = run("score", "--input", table.toString(), "--output", out.toString(), "--engine", "tensorrt");
    assertEquals(TextSpark.EXIT_USAGE, bad.code());
    assertTrue(bad.err().contains("score.engine"), bad.err());

    Run scored = run("score", "--input", table.toString(), "--output", out.toString(), "--text-col", "sentence",
        "--model", export.toString());
    assertEquals(0, scored.code(), scored.err());
    assertTrue(scored.out().contains("engine onnxruntime"), scored.out());
    assertTrue(scored.out().contains("3 rows, 2 scored, 1 null text"), scored.out());
  }
}
