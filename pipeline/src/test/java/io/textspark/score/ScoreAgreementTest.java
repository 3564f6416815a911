package io.textspark.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.inference.PredictJob;
import io.textspark.inference.Prediction;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyModel;
import io.textspark.evaluate.EvaluateJob;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** score, evaluate and predict give the same predictions for the CoLA validation sentences. */
class ScoreAgreementTest {
  @TempDir static Path dir;
  private static Path checkpoint;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void data() {
    TextSparkConfig c = config();
    DownloadJob.run(SharedSpark.get(), c);
    TokenizeJob.run(SharedSpark.get(), c);
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 41);
  }

  private static TextSparkConfig config(String... more) {
    List<String> all = new ArrayList<>(List.of("data.url=" + Shared.colaZip().toUri(),
        "data.root=" + dir.resolve("data"), "model.name=" + Shared.miniLm(), "train.output_dir=" + dir.resolve("run"),
        "evaluate.batch_size=64", "score.batch_size=32", "score.text_col=sentence"));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all);
  }

  private static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
  }

  private static double[] probabilities(Row r) {
    List<Object> p = r.getList(r.fieldIndex("probabilities"));
    return new double[] {(Double) p.get(0), (Double) p.get(1)};
  }

  @Test
  void scoreEvaluateAndPredictAgreeOnTheValidationSet() {
    JsonObject evaluated = EvaluateJob.run(spark, config("evaluate.model=" + checkpoint, "evaluate.json=true"),
        quiet());

    Path out = dir.resolve("scored");
    ScoreJob.Report report = ScoreJob.run(spark, config("score.model=" + checkpoint,
        "score.input=" + dir.resolve("data/raw/validation"), "score.output=" + out), quiet());
    assertEquals(1043, report.rows());
    assertEquals(1043, report.scored());

    // Confusion matrices and mean loss per domain, recomputed from the scored table.
    Map<String, long[][]> confusion = new TreeMap<>();
    Map<String, double[]> loss = new TreeMap<>();
    List<Row> rows = spark.read().parquet(out.toString()).orderBy("domain", "idx").collectAsList();
    for (Row r : rows) {
      int label = r.getInt(r.fieldIndex("label"));
      int predicted = r.getInt(r.fieldIndex("prediction_index"));
      double nll = -Math.log(probabilities(r)[label]);
      for (String part : List.of("overall", r.getString(r.fieldIndex("domain")))) {
        confusion.computeIfAbsent(part, k -> new long[2][2])[label][predicted]++;
        double[] l = loss.computeIfAbsent(part, k -> new double[2]);
        l[0] += nll;
        l[1]++;
      }
    }
    assertEquals(List.of("in", "out", "overall"), new ArrayList<>(confusion.keySet()));
    for (String part : confusion.keySet()) {
      JsonObject e = evaluated.getAsJsonObject(part);
      JsonArray cm = e.getAsJsonArray("confusion_matrix");
      long[][] expected = new long[2][2];
      for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
          expected[i][j] = cm.get(i).getAsJsonArray().get(j).getAsLong();
        }
      }
      assertArrayEquals(expected[0], confusion.get(part)[0], part + " true unacceptable");
      assertArrayEquals(expected[1], confusion.get(part)[1], part + " true acceptable");
      assertEquals(e.get("loss").getAsDouble(), loss.get(part)[0] / loss.get(part)[1], 1e-5, part + " loss");
    }
    long[][] all = confusion.get("overall");
    assertTrue(all[0][0] + all[1][0] > 50 && all[0][1] + all[1][1] > 50,
        "the model predicts both labels, so agreement is not trivial: " + java.util.Arrays.deepToString(all));

    // predict, in this JVM without Spark, on a mix of short and long validation sentences.
    List<Row> sample = new ArrayList<>();
    for (int i = 0; i < rows.size(); i += 87) {
      sample.add(rows.get(i));
    }
    List<String> sentences = sample.stream().map(r -> r.getString(r.fieldIndex("sentence"))).toList();
    List<Prediction> predicted = PredictJob.run(config("score.model=" + checkpoint), sentences, quiet());
    for (int i = 0; i < sample.size(); i++) {
      Row r = sample.get(i);
      assertArrayEquals(probabilities(r), predicted.get(i).probabilities(), 1e-5, sentences.get(i));
      assertEquals(r.getString(r.fieldIndex("prediction")), predicted.get(i).label(), sentences.get(i));
    }
  }
}
