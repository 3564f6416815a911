package io.textspark.tune;

import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrackingConfig;
import io.textspark.console.Console;
import io.textspark.tracking.MlflowTracking;
import io.textspark.tracking.RunDescription;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The tune's experiment tracking. With {@code tracking.mlflow.uri} set, the tune is a parent run
 * (its {@code tune.*} settings as parameters, the best trial's value and the trial counts as
 * metrics, {@code trials.json} and {@code report.html} as artifacts) and every trial's training run
 * is nested under it ({@code tracking.mlflow.parent_run_id}, run name {@code trial-<n>}). As for a
 * training run, a tracking server that fails or hangs costs one warning and at most
 * {@code tracking.mlflow.timeout} per call; the tune goes on.
 */
final class TuneTracking implements AutoCloseable {
  private final MlflowTracking client;
  private final String parentRunId;
  private final TrackingConfig cfg;
  private final ExecutorService calls;
  private boolean failed;

  private TuneTracking(MlflowTracking client, String parentRunId, TrackingConfig cfg, ExecutorService calls) {
    this.client = client;
    this.parentRunId = parentRunId;
    this.cfg = cfg;
    this.calls = calls;
  }

  /** Starts the tune's parent run when {@code config} names a tracking server; else tracks nothing. */
  static TuneTracking start(TextSparkConfig config, Path out) {
    TrackingConfig cfg = config.tracking();
    Optional<MlflowTracking> connected = MlflowTracking.connect(cfg);
    if (connected.isEmpty()) {
      return new TuneTracking(null, "", cfg, null);
    }
    ExecutorService calls = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "textspark-tune-tracking");
      t.setDaemon(true);
      return t;
    });
    TuneTracking tracking = new TuneTracking(connected.get(), "", cfg, calls);
    String name = cfg.runName().isEmpty() ? "tune-" + out.getName() : cfg.runName();
    Map<String, String> tags = new LinkedHashMap<>();
    tags.put("mlflow.source.name", "textspark tune");
    tags.put("mlflow.source.type", "JOB");
    tags.put("textspark.output_dir", out.toString());
    String id = tracking.call("start the tune's run", () -> {
      String runId = connected.get().startRun(name, cfg.parentRunId(), tags);
      Map<String, String> params = new LinkedHashMap<>();
      RunDescription.flatten(config.renderedJson()).forEach((k, v) -> {
        if (k.startsWith("tune.")) {
          params.put(k, v);
        }
      });
      connected.get().logParams(runId, params);
      return runId;
    });
    if (id == null) {
      // The warning is out; release the client and its thread, and track nothing.
      tracking.close();
      return new TuneTracking(null, "", cfg, null);
    }
    Console.info("tune: MLflow run %s at %s; each trial is a run nested under it", id, connected.get().uri());
    return new TuneTracking(connected.get(), id, cfg, calls);
  }

  /** The overrides that make trial {@code number}'s training run a child of the tune's run. */
  List<String> trialOverrides(int number) {
    if (parentRunId.isEmpty()) {
      return List.of();
    }
    return List.of("tracking.mlflow.parent_run_id=" + parentRunId, "tracking.mlflow.run_name=trial-" + number);
  }

  /** Logs the tune's outcome and files to its run and ends it; {@code status} FINISHED or FAILED. */
  void finish(Map<String, Double> metrics, Path out, Configuration conf, String status) {
    if (client == null) {
      return;
    }
    call("log the tune's results", () -> {
      client.logMetrics(parentRunId, metrics, 0);
      // The table and the report only: the trials' checkpoints are their own runs' artifacts.
      java.nio.file.Path files = Files.createTempDirectory("textspark-tune-artifacts");
      try {
        for (String name : List.of("trials.json", "report.html")) {
          Path file = new Path(out, name);
          FileSystem fs = file.getFileSystem(conf);
          if (fs.exists(file)) {
            fs.copyToLocalFile(false, file, new Path(files.resolve(name).toUri()), true);
          }
        }
        client.uploadArtifacts(parentRunId, new Path(files.toUri()), "", conf);
      } finally {
        try (var paths = Files.list(files)) {
          for (java.nio.file.Path f : paths.toList()) {
            Files.deleteIfExists(f);
          }
        }
        Files.deleteIfExists(files);
      }
      client.endRun(parentRunId, status);
      return Boolean.TRUE;
    });
  }

  @Override
  public void close() {
    if (client != null) {
      calls.shutdownNow();
      client.close();
    }
  }

  /** Runs one tracking call with the configured timeout; null (and one warning per tune) when it fails. */
  private <T> T call(String what, Callable<T> body) {
    if (failed) {
      return null;
    }
    Future<T> future = calls.submit(body);
    try {
      return future.get(cfg.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      future.cancel(true);
    } catch (Exception e) {
      future.cancel(true);
      failed = true;
      Throwable cause = e.getCause() == null ? e : e.getCause();
      Console.warn("tune: MLflow tracking could not %s (%s); the tune goes on without the parent run.", what,
          cause.toString());
    }
    return null;
  }
}
