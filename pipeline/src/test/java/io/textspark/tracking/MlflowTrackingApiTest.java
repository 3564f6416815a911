package io.textspark.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrackingConfig;
import io.textspark.testing.MlflowServer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.tracking.MlflowHttpException;

/** The tracking API the tuner uses, and MLflow's request limits, against {@link MlflowServer}. */
class MlflowTrackingApiTest {
  private static TrackingConfig cfg(String uri) {
    return TextSparkConfig.withOverrides("tracking.mlflow.uri=" + uri, "tracking.mlflow.experiment=api").tracking();
  }

  @Test
  void largeLogsAreSplitIntoBatchesMlflowAccepts() throws Exception {
    try (MlflowServer server = new MlflowServer();
        MlflowTracking t = MlflowTracking.connect(cfg(server.uri()), Map.of()).orElseThrow()) {
      String run = t.startRun("big", "", Map.of());
      Map<String, String> params = new LinkedHashMap<>();
      for (int i = 0; i < 250; i++) {
        params.put("p" + i, "v" + i);
      }
      params.put("long", "x".repeat(700));
      t.logParams(run, params);
      List<Metric> metrics = new ArrayList<>();
      for (int step = 0; step < 2500; step++) {
        metrics.add(MlflowTracking.metric("train/loss", 1.0 / (step + 1), 1000L + step, step));
      }
      t.logMetrics(run, metrics);
      t.endRun(run, "finished");

      long batches = server.requests().stream().filter(r -> r.path().endsWith("/runs/log-batch")).count();
      assertEquals(3 + 3, batches, "251 params in batches of 100, 2500 metrics in batches of 1000");
      MlflowServer.Run r = server.runs().get(run);
      assertEquals(251, r.params.size());
      assertEquals(500, r.params.get("long").length());
      assertTrue(r.params.get("long").endsWith("..."));
      assertEquals(2500, r.metrics.size());
      assertEquals(1.0 / 2500, Double.parseDouble(r.metrics.get(2499).get("value").getAsString()), 0);
      assertEquals("FINISHED", r.info.get("status").getAsString());
      assertEquals("big", t.getRun(run).getInfo().getRunName());
    }
  }

  @Test
  void theTestServerAnswersLikeMlflowWithErrorCodes() throws Exception {
    try (MlflowServer server = new MlflowServer();
        MlflowTracking t = MlflowTracking.connect(cfg(server.uri()), Map.of()).orElseThrow()) {
      String run = t.startRun("r", "", Map.of());
      t.logParams(run, Map.of("lr", "0.1"));
      MlflowHttpException changed = assertThrows(MlflowHttpException.class, () -> t.logParams(run, Map.of("lr", "0.2")));
      assertEquals(400, changed.getStatusCode());
      assertTrue(changed.getBodyMessage().contains("\"error_code\":\"INVALID_PARAMETER_VALUE\""), changed.getBodyMessage());
      MlflowHttpException missing = assertThrows(MlflowHttpException.class, () -> t.getRun("nope"));
      assertEquals(404, missing.getStatusCode());
      assertTrue(missing.getBodyMessage().contains("RESOURCE_DOES_NOT_EXIST"), missing.getBodyMessage());
      assertEquals(1, server.experiments().size(), "the experiment was created once, by name");
      assertEquals("a%20b/c%3Dd", ArtifactUpload.encode("a b/c=d"), "artifact paths are encoded segment by segment");
    }
  }

  @Test
  void trackingIsOffWithoutUri() {
    assertTrue(MlflowTracking.connect(TextSparkConfig.withOverrides().tracking(), Map.of()).isEmpty()
        || System.getenv("MLFLOW_TRACKING_URI") != null);
  }
}
