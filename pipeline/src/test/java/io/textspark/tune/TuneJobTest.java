package io.textspark.tune;

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
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.evaluate.EvaluateJob;
import io.textspark.fs.Download;
import io.textspark.fs.StagedOutput;
import io.textspark.testing.ChildJvm;
import io.textspark.testing.MlflowServer;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyBert;
import io.textspark.testing.TinyFamilies;
import io.textspark.train.Trainer;
import io.textspark.train.WorkerHooks;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real tunes of a tiny BERT (and a tiny RoBERTa, for searches over model.name) on CoLA on local[2]: early
 * stopping, a failing trial, outputs, resume, refusals.
 */
class TuneJobTest {
  @TempDir static Path shared;
  @TempDir Path tmp;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void data() throws IOException {
    TinyBert.write(shared.resolve("tiny"), 5);
    TextSparkConfig c = config(shared.resolve("unused"));
    DownloadJob.run(SharedSpark.get(), c);
    TokenizeJob.run(SharedSpark.get(), c);
  }

  private static TextSparkConfig config(Path out, String... more) throws IOException {
    return TextSparkConfig.load(List.of(spaceFile(out).toString()), overrides(out, more));
  }

  /** A --conf file with the search space: one good learning rate, then four that barely train. */
  private static Path spaceFile(Path out) throws IOException {
    Path space = out.resolveSibling(out.getFileName() + ".conf");
    Files.createDirectories(out.getParent());
    Files.writeString(space, "tune.space { \"train.lr\" { choice = [3e-3, 1e-6, 1e-6, 1e-6, 1e-6] } }");
    return space;
  }

  private static List<String> overrides(Path out, String... more) {
    List<String> all = new ArrayList<>(List.of("data.url=" + Shared.colaZip().toUri(),
        "data.root=" + shared.resolve("data"), "model.name=" + shared.resolve("tiny"), "tokenize.max_length=64",
        "train.epochs=1", "train.max_steps=8", "train.val_every_steps=2", "train.batch_size=16",
        "train.val_batch_size=512", "train.threads=1", "train.log_every_steps=1000",
        "train.checkpoint.monitor=val/loss", "train.checkpoint.mode=min", "tune.output_dir=" + out,
        "tune.search=grid", "tune.parallelism=1", "tune.grace_period=1", "tune.reduction_factor=2"));
    all.addAll(List.of(more));
    return all;
  }

  @Test
  void stopsBadTrialsEarlyWritesTheTableAndResumesWithoutRetraining() throws IOException {
    Path out = tmp.resolve("tune");
    TuneJob.Result r = TuneJob.run(spark, config(out));
    assertEquals(5, r.trials().size());
    // Trial 0 (lr 3e-3) learns; the tiny lr trials after it are worse at rung 1 and stop there, except that
    // each is compared with the values before it, so the first of them may go on to rung 2.
    assertEquals("completed", r.trials().get(0).status(), r.trials().toString());
    assertEquals(8, r.trials().get(0).steps());
    long stopped = r.trials().stream().filter(t -> t.status().equals("stopped")).count();
    assertTrue(stopped >= 3, r.trials().toString());
    r.trials().stream().filter(t -> t.status().equals("stopped")).forEach(t -> assertTrue(t.steps() < 8));
    assertEquals(0, r.best().number());
    assertTrue(r.fullSeconds() > 0);

    JsonObject json = JsonParser.parseString(Files.readString(out.resolve("trials.json"))).getAsJsonObject();
    assertEquals(0, json.get("best_trial").getAsInt());
    assertEquals(5, json.getAsJsonArray("trials").size());
    List<Row> rows = spark.read().parquet(out.resolve("trials.parquet").toString()).orderBy("trial").collectAsList();
    assertEquals(5, rows.size());
    assertEquals("0.003", rows.get(0).getJavaMap(rows.get(0).fieldIndex("params")).get("train.lr"));
    assertEquals("completed", rows.get(0).getString(rows.get(0).fieldIndex("status")));
    assertFalse(rows.get(1).getList(rows.get(1).fieldIndex("rungs")).isEmpty(), "a stopped trial keeps its rungs");
    String report = Files.readString(out.resolve("report.html"));
    assertTrue(report.contains("<svg") && report.contains("Validation curves") && report.contains("train.lr"));

    // The best checkpoint loads and evaluates.
    ByteArrayOutputStream quiet = new ByteArrayOutputStream();
    JsonObject evaluated = EvaluateJob.run(spark,
        config(out, "evaluate.json=true", "evaluate.model=" + out.resolve("best")),
        new PrintStream(quiet, true, StandardCharsets.UTF_8));
    assertEquals(1043, evaluated.getAsJsonObject("overall").get("rows").getAsLong());
    assertEquals(r.best().best(), evaluated.getAsJsonObject("overall").get("loss").getAsDouble(), 1e-4);

    // An existing tune is refused without resume; resuming a finished one trains nothing.
    TextSparkException e = assertThrows(TextSparkException.class, () -> TuneJob.run(spark, config(out)));
    assertTrue(e.getMessage().contains("tune.resume=true") && e.getMessage().contains("--overwrite"), e.getMessage());
    AtomicLong steps = new AtomicLong();
    try (WorkerHooks.Registration h = WorkerHooks.add((rank, attempt) -> new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        steps.incrementAndGet();
      }
    })) {
      TuneJob.Result again = TuneJob.run(spark, config(out, "tune.resume=true"));
      assertEquals(0, steps.get());
      assertEquals(r.trials(), again.trials());
    }
    TextSparkException changed = assertThrows(TextSparkException.class, () -> TuneJob.run(spark,
        config(out, "tune.resume=true", "tune.search=random", "tune.trials=2")));
    assertTrue(changed.getMessage().contains("planned other trials"), changed.getMessage());
  }

  @Test
  void aTrackedTuneIsAParentRunWithEachTrialNestedUnderIt() throws IOException {
    Path out = tmp.resolve("tracked");
    Path space = tmp.resolve("tracked.conf");
    Files.writeString(space, "tune.space { \"train.lr\" { choice = [3e-3, 1e-6, 1e-6] } }");
    try (MlflowServer server = new MlflowServer()) {
      TuneJob.Result r = TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()),
          overrides(out, "tracking.mlflow.uri=" + server.uri(), "tracking.mlflow.experiment=cola-tune")));
      assertEquals(3, r.trials().size());
      List<MlflowServer.Run> parents = server.runs().values().stream()
          .filter(x -> !x.tags.containsKey("mlflow.parentRunId")).toList();
      assertEquals(1, parents.size(), server.runs().keySet().toString());
      MlflowServer.Run parent = parents.get(0);
      String parentId = parent.info.get("run_id").getAsString();
      assertEquals("FINISHED", parent.info.get("status").getAsString());
      assertEquals("grid", parent.params.get("tune.search"));
      assertEquals(r.best().best(), parent.metrics.stream().filter(m -> m.get("key").getAsString()
          .equals("best_val_loss")).findFirst().orElseThrow().get("value").getAsDouble(), 1e-9);
      String prefix = parent.info.get("experiment_id").getAsString() + "/" + parentId + "/artifacts/";
      assertTrue(server.artifacts().containsKey(prefix + "trials.json"), server.artifacts().keySet().toString());
      assertTrue(server.artifacts().containsKey(prefix + "report.html"), server.artifacts().keySet().toString());

      // One child run per trial, however many segments (rungs) it was trained in, each with its own metrics.
      List<MlflowServer.Run> children = server.runs().values().stream()
          .filter(x -> parentId.equals(x.tags.get("mlflow.parentRunId"))).toList();
      assertEquals(List.of("trial-0", "trial-1", "trial-2"),
          children.stream().map(c -> c.info.get("run_name").getAsString()).sorted().toList());
      for (MlflowServer.Run child : children) {
        assertEquals("FINISHED", child.info.get("status").getAsString());
        assertTrue(child.metrics.stream().anyMatch(m -> m.get("key").getAsString().equals("val/loss")));
        assertEquals(parent.info.get("experiment_id"), child.info.get("experiment_id"));
      }
      MlflowServer.Run first = children.stream()
          .filter(c -> c.info.get("run_name").getAsString().equals("trial-0")).findFirst().orElseThrow();
      assertEquals("0.003", first.params.get("train.lr"));
    }
  }

  /** A tiny RoBERTa: a byte-level BPE tokenizer whose ids differ from the tiny BERT's, 64 positions. */
  private static Path tinyRoberta(Path dir) throws IOException {
    return TinyFamilies.write(dir, "roberta", "{\"max_position_embeddings\": 66}", 3, false);
  }

  private static Path bestCheckpoint(TuneJob.TrialView t) {
    return Path.of(new org.apache.hadoop.fs.Path(t.bestCheckpoint()).toUri().getPath());
  }

  @Test
  void aGridOverTwoModelsTrainsEachOnItsOwnTokenizerAndTracksIt() throws IOException {
    Path bert = shared.resolve("tiny");
    Path roberta = tinyRoberta(tmp.resolve("tiny-roberta"));
    Path marker = shared.resolve("data/tokenized").resolve(StagedOutput.MARKER);
    String tokenizedBefore = Files.readString(marker);
    Path out = tmp.resolve("models");
    Path space = tmp.resolve("models.conf");
    Files.writeString(space, "tune.space { \"model.name\" { choice = [\"" + bert + "\", \"" + roberta + "\"] } }");
    try (MlflowServer server = new MlflowServer()) {
      // No rung before the end (grace period 100): both trials train all 8 steps.
      TuneJob.Result r = TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()), overrides(out,
          "tune.grace_period=100", "tracking.mlflow.uri=" + server.uri(), "tracking.mlflow.experiment=models")));
      assertEquals(2, r.trials().size());
      List<Path> models = List.of(bert, roberta);
      for (TuneJob.TrialView t : r.trials()) {
        // The RoBERTa trial could not train on the BERT ids (its vocabulary has 100-odd tokens): it got its own.
        assertEquals("completed", t.status(), r.trials().toString());
        assertEquals(8, t.steps());
        Path model = models.get(t.number());
        assertEquals(model.toString(), t.params().get("model.name"));
        Path best = bestCheckpoint(t);
        assertArrayEquals(Files.readAllBytes(model.resolve("tokenizer.json")),
            Files.readAllBytes(best.resolve("tokenizer.json")), "trial " + t.number() + "'s tokenizer");
        assertEquals(t.number() == 0 ? "bert" : "roberta", JsonParser.parseString(
            Files.readString(best.resolve("config.json"))).getAsJsonObject().get("model_type").getAsString());
      }
      JsonObject json = JsonParser.parseString(Files.readString(out.resolve("trials.json"))).getAsJsonObject();
      assertEquals(roberta.toString(), json.getAsJsonArray("trials").get(1).getAsJsonObject()
          .getAsJsonObject("params").get("model.name").getAsString());
      String report = Files.readString(out.resolve("report.html"));
      assertTrue(report.contains("model.name on the x axis: 0 = " + bert + ", 1 = " + roberta), report);
      assertEquals(tokenizedBefore, Files.readString(marker), "the tokenized data under data.root is unchanged");

      // Each trial's run records its own model and the tokenization it trained on.
      Map<String, MlflowServer.Run> children = new TreeMap<>();
      server.runs().values().stream().filter(x -> x.tags.containsKey("mlflow.parentRunId"))
          .forEach(c -> children.put(c.info.get("run_name").getAsString(), c));
      assertEquals(List.of("trial-0", "trial-1"), List.copyOf(children.keySet()));
      for (int i = 0; i < 2; i++) {
        MlflowServer.Run child = children.get("trial-" + i);
        String sha = Download.sha256Hex(Files.readAllBytes(models.get(i).resolve("tokenizer.json")));
        assertEquals(models.get(i).toString(), child.tags.get("textspark.model"));
        assertEquals(sha, child.tags.get("textspark.model.tokenizer_sha256"));
        assertEquals(sha, child.tags.get("textspark.data.tokenizer_sha256"));
        assertFalse(child.tags.get("textspark.data.raw_sha256").isEmpty(), child.tags.toString());
        assertEquals(models.get(i).toString(), child.params.get("model.name"));
      }
    }
  }

  @Test
  void twoWorkerTrialsOfAModelTheDataWasNotTokenizedForTrainOnItsOwnTokens() throws IOException {
    Path roberta = tinyRoberta(tmp.resolve("tiny-roberta"));
    Path out = tmp.resolve("workers");
    Path space = tmp.resolve("workers.conf");
    Files.writeString(space, "tune.space { \"model.name\" { choice = [\"" + roberta + "\"] } }");
    TuneJob.Result r = TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()),
        overrides(out, "tune.workers_per_trial=2", "tune.grace_period=100", "train.max_steps=4")));
    TuneJob.TrialView t = r.trials().get(0);
    assertEquals("completed", t.status(), r.trials().toString());
    assertEquals(4, t.steps());
    assertArrayEquals(Files.readAllBytes(roberta.resolve("tokenizer.json")),
        Files.readAllBytes(bestCheckpoint(t).resolve("tokenizer.json")));
  }

  @Test
  void refusesModelSettingsItCannotSearchOrTrainBeforeAnyWork() throws IOException {
    Path out = tmp.resolve("refused");
    Path space = tmp.resolve("refused.conf");
    Files.writeString(space, "tune.space { \"model.cache_dir\" { choice = [a, b] } }");
    ConfigError notSearched = assertThrows(ConfigError.class,
        () -> TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()), overrides(out))));
    assertTrue(notSearched.getMessage().contains("model.cache_dir")
        && notSearched.getMessage().contains("search model.name instead"), notSearched.getMessage());

    // The default tiny RoBERTa has 38 positions, fewer than tokenize.max_length = 64.
    Path shortModel = TinyFamilies.write(tmp.resolve("short-roberta"), "roberta", null, 3, false);
    Files.writeString(space, "tune.space { \"model.name\" { choice = [\"" + shared.resolve("tiny") + "\", \""
        + shortModel + "\"] } }");
    TextSparkException positions = assertThrows(TextSparkException.class,
        () -> TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()), overrides(out))));
    assertTrue(positions.getMessage().contains("has only 38 positions")
        && positions.getMessage().contains("tokenize.max_length=38"), positions.getMessage());
    assertFalse(Files.exists(out), "nothing written");
  }

  @Test
  void rungsCompareOnTheRungMetricWhileTrialsAreRankedOnTheMonitoredOne() throws IOException {
    Path out = tmp.resolve("rung-metric");
    Path space = tmp.resolve("rung-metric.conf");
    Files.writeString(space, "tune.space { \"train.lr\" { choice = [3e-3, 1e-6, 1e-6] } }");
    TuneJob.Result r = TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()), overrides(out,
        "train.checkpoint.monitor=val/accuracy", "train.checkpoint.mode=max", "tune.rung_metric=val/loss",
        "tune.rung_mode=min")));
    assertEquals("val/accuracy", r.monitor());
    JsonObject json = JsonParser.parseString(Files.readString(out.resolve("trials.json"))).getAsJsonObject();
    for (var e : json.getAsJsonArray("trials")) {
      JsonObject trial = e.getAsJsonObject();
      List<Double> curve = new ArrayList<>();
      // Every rung holds the trial's validation loss at that step (a loss: above 0.3 for a tiny model), while
      // the trial's best is its best accuracy.
      for (var rung : trial.getAsJsonArray("rungs")) {
        double value = rung.getAsJsonObject().get("value").getAsDouble();
        assertTrue(value > 0.3 && value < 5, trial.toString());
        curve.add(value);
      }
      assertFalse(curve.isEmpty(), trial.toString());
      double best = trial.get("best").getAsDouble();
      assertTrue(best > 0.3 && best <= 1, trial.toString());
    }
    // The tiny learning rates lose more slowly than the good one: at the first rung their loss is higher.
    assertTrue(r.trials().stream().filter(t -> t.status().equals("stopped")).count() >= 1, r.trials().toString());
  }

  @Test
  void aFailingTrialIsRecordedAndTheOthersFinish() throws IOException {
    Path out = tmp.resolve("tune");
    AtomicBoolean armed = new AtomicBoolean(true);
    try (WorkerHooks.Registration h = WorkerHooks.add((rank, attempt) -> new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        if (globalStep == 3 && armed.getAndSet(false)) {
          throw new IllegalStateException("injected failure");
        }
      }
    })) {
      TuneJob.Result r = TuneJob.run(spark, config(out, "tune.parallelism=2"));
      List<TuneJob.TrialView> failed = r.trials().stream().filter(t -> t.status().equals("failed")).toList();
      assertEquals(1, failed.size(), r.trials().toString());
      assertEquals(4, r.trials().stream().filter(t -> t.status().equals("completed") || t.status().equals("stopped"))
          .count(), r.trials().toString());
      JsonObject json = JsonParser.parseString(Files.readString(out.resolve("trials.json"))).getAsJsonObject();
      String error = json.getAsJsonArray("trials").get(failed.get(0).number()).getAsJsonObject().get("error")
          .getAsString();
      assertTrue(error.contains("injected failure"), error);
    }
  }

  @Test
  void trialsOfTwoWorkersTrainRungByRungInBarrierStages() throws IOException {
    Path out = tmp.resolve("tune");
    TextSparkException tooMany = assertThrows(TextSparkException.class, () -> TuneJob.run(spark,
        config(out, "tune.workers_per_trial=2", "tune.parallelism=2")));
    assertTrue(tooMany.getMessage().contains("2 x 2 = 4 task slots"), tooMany.getMessage());
    assertFalse(Files.exists(out), "nothing written");

    Path space = spaceFile(out);
    Files.writeString(space, "tune.space { \"train.lr\" { choice = [3e-3, 1e-6] } }");
    TuneJob.Result r = TuneJob.run(spark, TextSparkConfig.load(List.of(space.toString()),
        overrides(out, "tune.workers_per_trial=2")));
    assertEquals("completed", r.trials().get(0).status(), r.trials().toString());
    assertEquals(8, r.trials().get(0).steps());
    JsonObject json = JsonParser.parseString(Files.readString(out.resolve("trials.json"))).getAsJsonObject();
    JsonObject first = json.getAsJsonArray("trials").get(0).getAsJsonObject();
    // validations at steps 2, 4, 6 and 8; rungs at 1, 2 and 4, each a pause of the barrier stage
    assertEquals(4, first.get("validations").getAsInt(), first.toString());
    assertEquals(4, first.getAsJsonArray("curve").size(), first.toString());
    assertEquals(3, first.getAsJsonArray("rungs").size(), first.toString());
    assertEquals(List.of(2L, 4L, 8L), first.getAsJsonArray("rungs").asList().stream()
        .map(e -> e.getAsJsonObject().get("step").getAsLong()).toList());
    String trialConfig = Files.readString(out.resolve("trials/trial-000/summary.json"));
    assertTrue(trialConfig.contains("\"global_step\":8"), trialConfig);
  }

  @Test
  void aKilledTuneResumesWithoutRerunningFinishedTrials() throws Exception {
    Path out = tmp.resolve("tune");
    List<String> args = new ArrayList<>(List.of(spaceFile(out).toString()));
    args.addAll(overrides(out));
    Path log = tmp.resolve("child.log");
    try (ChildJvm child = KilledTune.start(args, log)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (finished(out).size() < 2) {
        assertTrue(child.alive() && System.nanoTime() < deadline,
            "the tune did not finish 2 trials:\n" + child.tail());
        Thread.sleep(100);
      }
      child.kill();
    }
    Map<String, String> before = finished(out);
    assertTrue(before.size() >= 2 && before.size() < 5, before.keySet().toString());
    assertFalse(Files.exists(out.resolve("trials.json")), "a killed tune leaves no table");

    AtomicInteger trainings = new AtomicInteger();
    try (WorkerHooks.Registration h = WorkerHooks.add((rank, attempt) -> {
      trainings.incrementAndGet();
      return null;
    })) {
      TuneJob.Result r = TuneJob.run(spark, config(out, "tune.resume=true"));
      assertTrue(r.trials().stream().allMatch(t -> List.of("completed", "stopped").contains(t.status())),
          r.trials().toString());
    }
    Map<String, String> after = finished(out);
    before.forEach((id, json) -> assertEquals(json, after.get(id), id + " was not trained again"));
    // One training segment per rung at most: the unfinished trials only, each up to 3 segments (rungs 1, 2, 4).
    assertTrue(trainings.get() >= 5 - before.size() && trainings.get() <= 3 * (5 - before.size()),
        trainings.get() + " segments for " + (5 - before.size()) + " unfinished trials");
  }

  /** The trial.json of every finished trial, by trial id. */
  private static Map<String, String> finished(Path out) throws IOException {
    Map<String, String> done = new TreeMap<>();
    Path trials = out.resolve("trials");
    if (!Files.isDirectory(trials)) {
      return done;
    }
    try (Stream<Path> dirs = Files.list(trials)) {
      for (Path dir : dirs.toList()) {
        Path file = dir.resolve("trial.json");
        if (Files.exists(file)) {
          String json = Files.readString(file);
          String status = JsonParser.parseString(json).getAsJsonObject().get("status").getAsString();
          if (status.equals("completed") || status.equals("stopped")) {
            done.put(dir.getFileName().toString(), json);
          }
        }
      }
    }
    return done;
  }
}
