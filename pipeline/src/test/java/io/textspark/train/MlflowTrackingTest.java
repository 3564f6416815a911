package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.collective.Collective;
import io.textspark.config.ConfigError;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrackingConfig;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import io.textspark.console.Reporter;
import io.textspark.metrics.MetricsSink;
import io.textspark.metrics.RunLogs;
import io.textspark.testing.MlflowServer;
import io.textspark.tracking.MlflowSink;
import io.textspark.tracking.MlflowTracking;
import io.textspark.tracking.RunDescription;
import io.textspark.tracking.TrackingSinks;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training runs as MLflow runs, against {@link MlflowServer} (MLflow's REST API as its reference and
 * server document it): what a run logs, nesting, resuming, and that a tracking server that is
 * down or hangs never fails or holds up training.
 */
class MlflowTrackingTest {
  private static final Configuration CONF = new Configuration();
  private static final String SECRET = "s3cret-token-4711";

  @TempDir Path tmp;

  private static TrainConfig cfg(String... overrides) {
    List<String> all = new ArrayList<>(List.of("train.batch_size=16", "train.lr=3e-3", "train.epochs=2",
        "train.bucket_batches=2", "train.log_every_steps=1000", "train.threads=1", "train.seed=7"));
    all.addAll(List.of(overrides));
    return TextSparkConfig.load(List.of(), all).train();
  }

  private static TrackingConfig tracking(String uri, String... overrides) {
    List<String> all = new ArrayList<>(List.of("tracking.mlflow.uri=" + uri));
    all.addAll(List.of(overrides));
    return TextSparkConfig.load(List.of(), all).tracking();
  }

  private static TrainInputs inputs(Path out) {
    return new TrainInputs(TrainerTest.task(64, 1), TrainerTest.task(32, 2), TrainerTest.TINY,
        TrainerTest.tinyWeights(3), "{}".getBytes(StandardCharsets.UTF_8), "tiny", "{}",
        new org.apache.hadoop.fs.Path(out.toUri()), CONF);
  }

  private static RunDescription description() {
    TextSparkConfig config = TextSparkConfig.withOverrides("train.epochs=2");
    return new RunDescription("run", Map.of("textspark.data.raw_sha256", "ab12", "textspark.version", "dev"),
        RunDescription.flatten(config.renderedJson()));
  }

  /** Console lines (info and warnings) while {@code body} runs. */
  private static final class Captured implements Reporter {
    final List<String> info = Collections.synchronizedList(new ArrayList<>());
    final List<String> warn = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void info(String line) {
      info.add(line);
    }

    @Override
    public void warn(String line) {
      warn.add(line);
    }
  }

  private static Trainer.Summary train(TrainConfig cfg, Path run, MetricsSink.Factory sinks, Captured out,
      Trainer.Listener... listeners) {
    try (Console.Restore r = Console.use(out)) {
      return Trainer.fit(cfg, inputs(run), Collective.single(), List.of(listeners), null, sinks);
    }
  }

  @Test
  void aRunLogsItsParamsMetricsTagsAndBestCheckpoint() throws Exception {
    try (MlflowServer server = new MlflowServer()) {
      Path run = tmp.resolve("run");
      Captured out = new Captured();
      RunDescription description = description();
      Trainer.Summary s = train(cfg(), run, TrackingSinks.of(tracking(server.uri()), description,
          Map.of("MLFLOW_TRACKING_TOKEN", SECRET)), out);

      assertEquals(List.of(), out.warn);
      assertEquals(1, server.runs().size());
      MlflowServer.Run r = server.runs().values().iterator().next();
      String runId = r.info.get("run_id").getAsString();
      assertEquals("FINISHED", r.info.get("status").getAsString());
      assertTrue(r.info.has("end_time"));
      assertEquals("textspark", server.experiments().get(r.info.get("experiment_id").getAsString()).get("name")
          .getAsString(), "the experiment is created by name");
      assertEquals("run", r.tags.get("mlflow.runName"), "named after the run folder");
      assertEquals("ab12", r.tags.get("textspark.data.raw_sha256"));
      assertEquals(s.bestCheckpoint(), r.tags.get("textspark.best_checkpoint"));
      assertFalse(r.tags.containsKey("mlflow.parentRunId"));
      // Params: the resolved configuration, every key, values as MLflow may store them.
      assertEquals(description.params().size(), r.params.size());
      assertEquals("2", r.params.get("train.epochs"));
      description.params().forEach((k, v) -> assertEquals(v.length() <= 500 ? v : v.substring(0, 497) + "...",
          r.params.get(k), k));
      assertEquals(metricsJsonl(run), metricsOf(r), "per-step metrics equal metrics.jsonl's");
      // The best checkpoint's files, byte for byte, under checkpoint/.
      String prefix = r.info.get("experiment_id").getAsString() + "/" + runId + "/artifacts/checkpoint/";
      List<Path> files = checkpointFiles(Path.of(java.net.URI.create(s.bestCheckpoint())));
      assertFalse(files.isEmpty());
      for (Path f : files) {
        String name = Path.of(java.net.URI.create(s.bestCheckpoint())).relativize(f).toString();
        byte[] uploaded = server.artifacts().get(prefix + name);
        assertTrue(uploaded != null, "artifact " + prefix + name + " in " + server.artifacts().keySet());
        assertArrayEquals(Files.readAllBytes(f), uploaded, name);
      }
      // Credentials: sent on every request, written nowhere.
      assertTrue(server.requests().stream().allMatch(q -> ("Bearer " + SECRET).equals(q.authorization())),
          "every request carries the token");
      assertNoSecret(run, out);
      assertEquals(runId, Files.readString(run.resolve("logs/" + MlflowSink.RUN_ID_FILE)).trim());

      // A resumed run continues the same MLflow run: more steps, the same params, finished again.
      Trainer.Summary resumed = train(cfg("train.epochs=3", "train.resume_from=last"), run,
          TrackingSinks.of(tracking(server.uri()), description, Map.of()), out);
      assertEquals(12, resumed.globalStep());
      assertEquals(1, server.runs().size(), "no second run");
      MlflowServer.Run after = server.runs().get(runId);
      assertEquals("FINISHED", after.info.get("status").getAsString());
      assertEquals(metricsJsonl(run), metricsOf(after));
      assertEquals("2", after.params.get("train.epochs"), "params are immutable in MLflow");
      assertEquals(List.of(), out.warn);
    }
  }

  @Test
  void aTrialIsNestedUnderItsParentRunAndAFailedRunSaysSo() throws Exception {
    try (MlflowServer server = new MlflowServer()) {
      TrackingConfig parentCfg = tracking(server.uri(), "tracking.mlflow.experiment=tuning");
      String parent;
      try (MlflowTracking t = MlflowTracking.connect(parentCfg, Map.of()).orElseThrow()) {
        parent = t.startRun("tune", "", Map.of("textspark.tune", "true"));
        t.logParams(parent, Map.of("tune.trials", "4"));
        t.logMetrics(parent, Map.of("best/val_mcc", 0.25), 1);
      }
      Captured out = new Captured();
      TrackingConfig trial = tracking(server.uri(), "tracking.mlflow.experiment=tuning",
          "tracking.mlflow.parent_run_id=" + parent, "tracking.mlflow.run_name=trial-3");
      Trainer.Listener failAtStep3 = new Trainer.Listener() {
        @Override
        public void afterStep(long globalStep, int epoch, int position) {
          if (globalStep == 3) {
            throw new IllegalStateException("injected failure at step 3");
          }
        }
      };
      assertThrows(IllegalStateException.class, () -> train(cfg(), tmp.resolve("trial"),
          TrackingSinks.of(trial, description(), Map.of()), out, failAtStep3));
      assertEquals(2, server.runs().size());
      MlflowServer.Run child = server.runs().values().stream()
          .filter(r -> parent.equals(r.tags.get("mlflow.parentRunId"))).findFirst().orElseThrow();
      assertEquals("trial-3", child.tags.get("mlflow.runName"));
      assertEquals("trial-3", child.info.get("run_name").getAsString());
      assertEquals("FAILED", child.info.get("status").getAsString());
      assertEquals(2, child.metrics.stream().filter(m -> m.get("key").getAsString().equals("train/loss")).count(),
          "the steps before the failing one are logged");
      assertEquals(server.runs().get(parent).info.get("experiment_id"), child.info.get("experiment_id"));
      assertEquals("4", server.runs().get(parent).params.get("tune.trials"));
      assertEquals(List.of(), out.warn);
    }
  }

  @Test
  void aServerThatIsDownCostsOneWarningAndNothingElse() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path run = tmp.resolve("down");
    Captured out = new Captured();
    Trainer.Summary s = train(cfg(), run, TrackingSinks.of(tracking("http://127.0.0.1:" + port), description(),
        Map.of("MLFLOW_TRACKING_USERNAME", "ann", "MLFLOW_TRACKING_PASSWORD", SECRET)), out);
    assertEquals(8, s.globalStep());
    assertEquals(1, out.warn.size(), out.warn.toString());
    assertTrue(out.warn.get(0).startsWith("tracking: MLflow at http://127.0.0.1:" + port + " failed"), out.warn.get(0));
    assertTrue(Files.exists(run.resolve("logs/" + RunLogs.METRICS_FILE)));
    assertFalse(Files.exists(run.resolve("logs/" + MlflowSink.RUN_ID_FILE)));
    assertNoSecret(run, out);
  }

  @Test
  void aHungServerHoldsTheRunUpAtMostTheTimeoutInAll() throws Exception {
    try (MlflowServer server = new MlflowServer()) {
      server.hang();
      Path run = tmp.resolve("hung");
      Captured out = new Captured();
      long[] closeNanos = new long[1];
      MetricsSink.Factory tracked = TrackingSinks.of(tracking(server.uri(), "tracking.mlflow.timeout=2s"),
          description(), Map.of());
      MetricsSink.Factory timed = (logs, conf) -> {
        MetricsSink inner = tracked.open(logs, conf);
        return new MetricsSink() {
          @Override
          public void scalars(Map<String, Double> values, long step, int epoch, String split) {
            inner.scalars(values, step, epoch, split);
          }

          @Override
          public void flush() {
            inner.flush();
          }

          @Override
          public void finished(String best) {
            inner.finished(best);
          }

          @Override
          public void close() {
            long t0 = System.nanoTime();
            inner.close();
            closeNanos[0] = System.nanoTime() - t0;
          }
        };
      };
      Trainer.Summary s = train(cfg(), run, timed, out);
      assertEquals(8, s.globalStep());
      assertTrue(closeNanos[0] < 3_500_000_000L, "closing waited " + closeNanos[0] / 1e9 + " s for a 2s timeout");
      assertEquals(1, out.warn.size(), out.warn.toString());
      assertTrue(out.warn.get(0).contains("did not answer within tracking.mlflow.timeout = 2s"), out.warn.get(0));
      assertEquals(1, server.requests().size(), "the sender stopped at the first hung request");
    }
  }

  @Test
  void anArtifactStoreTheJvmCannotWriteIsNamedWithTheFix() throws Exception {
    try (MlflowServer server = new MlflowServer()) {
      server.artifactRoot("s3://bucket/mlruns");
      Captured out = new Captured();
      train(cfg(), tmp.resolve("s3"), TrackingSinks.of(tracking(server.uri()), description(), Map.of()), out);
      assertEquals(1, out.warn.size(), out.warn.toString());
      assertTrue(out.warn.get(0).contains("s3://bucket/mlruns/1/") && out.warn.get(0).contains("--serve-artifacts"),
          out.warn.get(0));
      assertTrue(server.artifacts().isEmpty());
      assertEquals("FINISHED", server.runs().values().iterator().next().info.get("status").getAsString());
    }
  }

  @Test
  void credentialsInTheTrackingUriAreRefused() {
    ConfigError e = assertThrows(ConfigError.class, () -> tracking("https://ann:" + SECRET + "@mlflow.example.com"));
    assertTrue(e.getMessage().contains("MLFLOW_TRACKING_USERNAME"), e.getMessage());
    assertFalse(e.getMessage().contains(SECRET), e.getMessage());
    assertThrows(ConfigError.class, () -> tracking("file:///tmp/mlruns"));
  }

  /** (key, step) to value of every finite metric in the run folder's metrics.jsonl. */
  private static Map<String, Double> metricsJsonl(Path run) throws IOException {
    Map<String, Double> out = new HashMap<>();
    for (String line : Files.readAllLines(run.resolve("logs/" + RunLogs.METRICS_FILE))) {
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      if (!o.has("split")) {
        continue;
      }
      long step = o.get("step").getAsLong();
      for (Map.Entry<String, JsonElement> e : o.entrySet()) {
        if (!List.of("step", "epoch", "split").contains(e.getKey()) && !e.getValue().isJsonNull()) {
          out.put(e.getKey() + "@" + step, e.getValue().getAsDouble());
        }
      }
    }
    return out;
  }

  private static Map<String, Double> metricsOf(MlflowServer.Run r) {
    Map<String, Double> out = new HashMap<>();
    for (JsonObject m : r.metrics) {
      double v = Double.parseDouble(m.get("value").getAsString());
      if (Double.isFinite(v)) {
        out.put(m.get("key").getAsString() + "@" + m.get("step").getAsLong(), v);
      }
    }
    return out;
  }

  private static List<Path> checkpointFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().endsWith(".crc")).toList();
    }
  }

  private static void assertNoSecret(Path run, Captured out) throws IOException {
    assertTrue(Stream.concat(out.info.stream(), out.warn.stream()).noneMatch(l -> l.contains(SECRET)));
    try (Stream<Path> files = Files.walk(run)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertFalse(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains(SECRET), f.toString());
      }
    }
  }
}
