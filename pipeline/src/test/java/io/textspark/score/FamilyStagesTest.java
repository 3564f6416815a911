package io.textspark.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.evaluate.EvaluateJob;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import io.textspark.inference.ScoringModel;
import io.textspark.testing.Reference;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyFamilies;
import io.textspark.train.TrainJob;
import io.textspark.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A RoBERTa model (byte-level BPE, pad id 1) through every stage on CoLA, as a user runs them:
 * tokenize, train, evaluate, score and predict.
 */
class FamilyStagesTest {
  @TempDir Path tmp;
  private final SparkSession spark = SharedSpark.get();

  private TextSparkConfig config(Path model, String... more) {
    List<String> all = new ArrayList<>(List.of("data.url=" + Shared.colaZip().toUri(),
        "data.root=" + tmp.resolve("cola"), "model.name=" + model, "tokenize.max_length=64",
        "train.output_dir=" + tmp.resolve("run"), "train.max_steps=3", "train.batch_size=16", "train.threads=1",
        "train.val_batch_size=256", "train.log_every_steps=1000", "train.seed=3"));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all);
  }

  @Test
  void aRobertaModelTokenizesTrainsEvaluatesScoresAndPredicts() throws IOException {
    Path model = TinyFamilies.write(tmp.resolve("tiny-roberta"), "roberta", "{\"max_position_embeddings\": 66}", 3,
        false);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    DownloadJob.run(spark, config(model));
    TokenizeJob.run(spark, config(model));
    Row first = spark.read().parquet(tmp.resolve("cola/tokenized/train").toString()).first();
    List<Integer> ids = first.getList(first.fieldIndex("input_ids"));
    assertEquals(0, ids.get(0), "<s> first: " + ids);
    assertEquals(2, ids.get(ids.size() - 1), "</s> last: " + ids);

    Trainer.Summary summary = TrainJob.run(spark, config(model), List.of());
    assertEquals(3, summary.globalStep());

    JsonObject evaluated = EvaluateJob.run(spark, config(model, "evaluate.json=true"), quiet);
    assertEquals(1043, evaluated.getAsJsonObject("overall").get("rows").getAsLong());

    Path scored = tmp.resolve("scored");
    ScoreJob.Report report = ScoreJob.run(spark, config(model, "score.input=" + tmp.resolve("cola/raw/validation"),
        "score.output=" + scored, "score.text_col=sentence", "score.model=" + summary.bestCheckpoint()), quiet);
    assertEquals(1043, report.scored());

    Path best = Path.of(new org.apache.hadoop.fs.Path(summary.bestCheckpoint()).toUri().getPath());
    List<String> texts = List.of("the cat sat on the mat.", "Books were sent to the students.");
    try (Predictor predictor = Predictor.load(best.toString(), TextSparkConfig.withOverrides().model(),
            new InferenceSettings(64, 2, "cpu", 1), new Configuration());
        ScoringModel alone = Reference.load(best)) {
      Prediction[] predictions = predictor.predict(texts);
      for (int i = 0; i < texts.size(); i++) {
        assertTrue(predictions[i].scored(), predictions[i].error());
        assertEquals(Reference.probabilities(alone, texts.get(i), 64)[1], predictions[i].probability(1), 1e-5);
      }
      Row row = spark.read().parquet(scored.toString()).where("idx = 0").first();
      assertTrue(row.getAs("prediction") != null, row.toString());
    }
  }
}
