package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.evaluate.EvaluateJob;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train and evaluate commands on real CoLA data and the real MiniLM model. */
class TrainJobTest {
  @TempDir static Path shared;
  @TempDir Path tmp;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void data() {
    TextSparkConfig c = config(shared);
    DownloadJob.run(SharedSpark.get(), c);
    TokenizeJob.run(SharedSpark.get(), c);
  }

  private static TextSparkConfig config(Path dataParent, String... more) {
    List<String> all = new ArrayList<>(List.of("data.url=" + Shared.colaZip().toUri(),
        "data.root=" + dataParent.resolve("data"), "model.name=" + Shared.miniLm(), "train.threads=2"));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all);
  }

  @Test
  void evaluateAgreesWithTheValidationOfTraining() {
    Path run = tmp.resolve("run");
    Trainer.Summary s = TrainJob.run(spark, config(shared, "train.output_dir=" + run, "train.max_steps=2",
        "train.val_batch_size=128"), List.of());
    assertEquals(2, s.globalStep());
    assertFalse(s.bestCheckpoint().isEmpty());

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonObject json = EvaluateJob.run(spark, config(shared, "train.output_dir=" + run, "evaluate.json=true"),
        new PrintStream(out, true, StandardCharsets.UTF_8));
    JsonObject overall = json.getAsJsonObject("overall");
    assertEquals(1043, overall.get("rows").getAsLong());
    assertEquals(527, json.getAsJsonObject("in").get("rows").getAsLong());
    assertEquals(516, json.getAsJsonObject("out").get("rows").getAsLong());
    long cells = 0;
    for (var row : overall.getAsJsonArray("confusion_matrix")) {
      for (var v : row.getAsJsonArray()) {
        cells += v.getAsLong();
      }
    }
    assertEquals(1043, cells);
    assertEquals(s.lastMetrics().get("val/accuracy"), overall.get("accuracy").getAsDouble(), 1e-12);
    assertEquals(s.lastMetrics().get("val/mcc"), overall.get("mcc").getAsDouble(), 1e-12);
    assertEquals(s.lastMetrics().get("val/loss"), overall.get("loss").getAsDouble(), 1e-4);
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("\"confusion_matrix\""));
  }

  @Test
  void refusesDataTokenizedWithAnotherTokenizer() throws IOException {
    Path model = tmp.resolve("other-model");
    Files.createDirectories(model);
    Files.copy(Shared.miniLm().resolve("config.json"), model.resolve("config.json"));
    Files.createSymbolicLink(model.resolve("model.safetensors"), Shared.miniLm().resolve("model.safetensors"));
    Files.writeString(model.resolve("tokenizer.json"),
        Files.readString(Shared.miniLm().resolve("tokenizer.json")) + "\n");
    Path run = tmp.resolve("run");
    TextSparkException e = assertThrows(TextSparkException.class, () -> TrainJob.run(spark,
        config(shared, "model.name=" + model, "train.output_dir=" + run), List.of()));
    assertTrue(e.getMessage().contains("another tokenizer"), e.getMessage());
    assertTrue(e.getMessage().contains("textspark tokenize --overwrite"), e.getMessage());
    assertFalse(Files.exists(run), "nothing written before the check");
  }

  @Test
  void refusesAnUnwritableOutputBeforeTraining() throws IOException {
    Path file = tmp.resolve("a-file");
    Files.writeString(file, "x");
    TextSparkException e = assertThrows(TextSparkException.class, () -> TrainJob.run(spark,
        config(shared, "train.output_dir=" + file.resolve("run")), List.of()));
    assertTrue(e.getMessage().contains("not writable"), e.getMessage());
  }

  @Test
  void refusesToTrainBeforeTokenizing() {
    TextSparkException e = assertThrows(TextSparkException.class, () -> TrainJob.run(spark,
        config(tmp, "train.output_dir=" + tmp.resolve("run")), List.of()));
    assertTrue(e.getMessage().contains("textspark tokenize"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("run")));
  }
}
