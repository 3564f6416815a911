package io.textspark.tracking;

import com.google.gson.JsonObject;
import io.textspark.config.TrackingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.mlflow.api.proto.Service.CreateRun;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.api.proto.Service.Param;
import org.mlflow.api.proto.Service.Run;
import org.mlflow.api.proto.Service.RunStatus;
import org.mlflow.api.proto.Service.RunTag;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;

/**
 * One connection to an MLflow tracking server: runs, parameters, metrics and tags through MLflow's
 * Java client, checkpoints through the server's artifact proxy ({@link ArtifactUpload}). Used by
 * {@link MlflowSink} for each training run and by the tuner for its parent run. Calls block and
 * throw on failure; callers that must not wait run them on another thread.
 */
public final class MlflowTracking implements AutoCloseable {
  /** The most values one param may have before MLflow refuses it (older servers; newer allow 6000). */
  public static final int MAX_PARAM_VALUE = 500;
  /** The longest param key MLflow accepts. */
  public static final int MAX_KEY = 250;
  /** The longest tag value MLflow accepts (5000 on older servers). */
  public static final int MAX_TAG_VALUE = 5000;
  /** MLflow's log-batch limits: metrics, params and tags per request, and all entities together. */
  static final int BATCH_METRICS = 1000;
  static final int BATCH_PARAMS = 100;
  static final int BATCH_TAGS = 100;

  private final TrackingConfig cfg;
  private final MlflowClient client;
  private final ArtifactUpload artifacts;
  private String experimentId;

  private MlflowTracking(TrackingConfig cfg, Credentials credentials) {
    this.cfg = cfg;
    this.client = new MlflowClient(new BasicMlflowHostCreds(cfg.uri(), credentials.username(),
        credentials.password(), credentials.token(), credentials.insecureTls()));
    this.artifacts = new ArtifactUpload(cfg, credentials);
  }

  /**
   * A connection to {@code cfg}'s server with credentials from MLflow's environment variables, or
   * empty when tracking is off. Does not contact the server.
   */
  public static Optional<MlflowTracking> connect(TrackingConfig cfg) {
    return connect(cfg, System.getenv());
  }

  /** {@link #connect(TrackingConfig)} with {@code environment} in place of the process's. */
  public static Optional<MlflowTracking> connect(TrackingConfig cfg, Map<String, String> environment) {
    return cfg.enabled() ? Optional.of(new MlflowTracking(cfg, Credentials.from(environment))) : Optional.empty();
  }

  /** The tracking server's URI. */
  public String uri() {
    return cfg.uri();
  }

  /** The ID of the configured experiment, created (by name) when the server has none. */
  public synchronized String experimentId() {
    if (experimentId == null) {
      experimentId = client.getExperimentByName(cfg.experiment())
          .map(e -> e.getExperimentId())
          .orElseGet(() -> client.createExperiment(cfg.experiment()));
    }
    return experimentId;
  }

  /**
   * Starts a run in the experiment named {@code name}, nested under {@code parentRunId} when that
   * is not empty, with {@code tags}; returns its run ID.
   */
  public String startRun(String name, String parentRunId, Map<String, String> tags) {
    CreateRun.Builder request = CreateRun.newBuilder()
        .setExperimentId(experimentId())
        .setStartTime(System.currentTimeMillis());
    if (!name.isEmpty()) {
      request.setRunName(name);
      request.addTags(tag("mlflow.runName", name));
    }
    if (!parentRunId.isEmpty()) {
      request.addTags(tag("mlflow.parentRunId", parentRunId));
    }
    tags.forEach((k, v) -> request.addTags(tag(k, v)));
    return client.createRun(request.build()).getRunId();
  }

  /** Marks an existing run as running again (a resumed or restarted training run). */
  public void resumeRun(String runId) {
    // The client's setTerminated also sets an end time; a running run has none, so update it directly.
    JsonObject request = new JsonObject();
    request.addProperty("run_id", runId);
    request.addProperty("status", "RUNNING");
    client.sendPost("runs/update", request.toString());
  }

  /** The run {@code runId} as the server has it (info, params, tags, latest metrics). */
  public Run getRun(String runId) {
    return client.getRun(runId);
  }

  /**
   * Logs {@code params} (values longer than MLflow allows are cut, ending in "..."), in batches of
   * at most {@value #BATCH_PARAMS}. Params are immutable: logging a key again with another value fails.
   */
  public void logParams(String runId, Map<String, String> params) {
    List<Param> all = new ArrayList<>();
    params.forEach((k, v) -> all.add(Param.newBuilder().setKey(cut(k, MAX_KEY)).setValue(cut(v, MAX_PARAM_VALUE))
        .build()));
    for (int i = 0; i < all.size(); i += BATCH_PARAMS) {
      client.logBatch(runId, List.of(), all.subList(i, Math.min(all.size(), i + BATCH_PARAMS)), List.of());
    }
  }

  /** Sets {@code tags} on the run, in batches of at most {@value #BATCH_TAGS}. */
  public void setTags(String runId, Map<String, String> tags) {
    List<RunTag> all = new ArrayList<>();
    tags.forEach((k, v) -> all.add(tag(k, v)));
    for (int i = 0; i < all.size(); i += BATCH_TAGS) {
      client.logBatch(runId, List.of(), List.of(), all.subList(i, Math.min(all.size(), i + BATCH_TAGS)));
    }
  }

  /** Logs {@code values} (name to value) at {@code step}, timestamped now. */
  public void logMetrics(String runId, Map<String, Double> values, long step) {
    long now = System.currentTimeMillis();
    List<Metric> metrics = new ArrayList<>();
    values.forEach((k, v) -> metrics.add(metric(k, v, now, step)));
    logMetrics(runId, metrics);
  }

  /** Logs {@code metrics} in batches of at most {@value #BATCH_METRICS}. */
  void logMetrics(String runId, List<Metric> metrics) {
    for (int i = 0; i < metrics.size(); i += BATCH_METRICS) {
      client.logBatch(runId, metrics.subList(i, Math.min(metrics.size(), i + BATCH_METRICS)), List.of(), List.of());
    }
  }

  /** Ends the run with {@code status}: {@code FINISHED}, {@code FAILED} or {@code KILLED}. */
  public void endRun(String runId, String status) {
    client.setTerminated(runId, RunStatus.valueOf(status.toUpperCase(Locale.ROOT)), System.currentTimeMillis());
  }

  /**
   * Uploads every file under {@code folder} (any Hadoop file system) as the run's artifacts under
   * {@code artifactPath}; returns false, having said why, when the run's artifact store cannot be
   * written from the JVM (it is not the server's {@code mlflow-artifacts} proxy).
   */
  public boolean uploadArtifacts(String runId, Path folder, String artifactPath, Configuration conf) {
    return artifacts.upload(getRun(runId).getInfo(), folder, artifactPath, conf);
  }

  /** Aborts requests in flight and releases the connections. */
  @Override
  public void close() {
    client.close();
  }

  static Metric metric(String key, double value, long timestamp, long step) {
    return Metric.newBuilder().setKey(cut(key, MAX_KEY)).setValue(value).setTimestamp(timestamp).setStep(step).build();
  }

  private static RunTag tag(String key, String value) {
    return RunTag.newBuilder().setKey(cut(key, MAX_KEY)).setValue(cut(value, MAX_TAG_VALUE)).build();
  }

  static String cut(String value, int max) {
    return value.length() <= max ? value : value.substring(0, max - 3) + "...";
  }
}
