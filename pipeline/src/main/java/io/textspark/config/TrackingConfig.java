package io.textspark.config;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;

/**
 * Settings of experiment tracking ({@code tracking.mlflow.*}); every default is in
 * {@code conf/textspark.conf}. Credentials are never configuration keys: they come only from
 * MLflow's own environment variables ({@code MLFLOW_TRACKING_USERNAME}/{@code _PASSWORD},
 * {@code MLFLOW_TRACKING_TOKEN}), because the configuration is saved with every checkpoint.
 *
 * @param uri the MLflow tracking server ({@code http(s)://host:port}); empty (default) turns
 *     tracking off; {@code $MLFLOW_TRACKING_URI} overrides
 * @param experiment the experiment runs are logged to, by name, created when missing; default
 *     {@code textspark}
 * @param runName the MLflow run name; empty (default) names the run after {@code train.output_dir}
 * @param parentRunId the run this one is nested under ({@code mlflow.parentRunId}), as the tuner
 *     sets for its trials; default empty (a top-level run)
 * @param timeout the most a server that stopped answering may hold the run up at its end (final
 *     metrics, checkpoint upload and status included), and the timeout of each artifact upload
 *     request; default 10s
 */
public record TrackingConfig(String uri, String experiment, String runName, String parentRunId, Duration timeout)
    implements Serializable {

  /** Reads and validates the {@code tracking.mlflow} section. */
  public static TrackingConfig from(Settings s) {
    String uri = s.string("uri").trim();
    while (uri.endsWith("/")) {
      uri = uri.substring(0, uri.length() - 1);
    }
    if (!uri.isEmpty()) {
      check(s, uri);
    }
    return new TrackingConfig(uri, s.nonEmpty("experiment").trim(), s.string("run_name").trim(),
        s.string("parent_run_id").trim(), s.duration("timeout"));
  }

  private static void check(Settings s, String uri) {
    URI parsed;
    try {
      parsed = URI.create(uri);
    } catch (IllegalArgumentException e) {
      throw new ConfigError(s.key("uri"), uri.replaceAll("//[^@/]*@", "//***@"), "not a URL (" + e.getMessage()
          .replace(uri, "...") + "); an http:// or https:// URL of an MLflow tracking server is expected");
    }
    if (parsed.getRawUserInfo() != null) {
      throw new ConfigError(s.key("uri"), uri.replaceAll("//[^@/]*@", "//***@"), "credentials in the URI are"
          + " refused (the configuration is saved with every checkpoint); set MLFLOW_TRACKING_USERNAME and"
          + " MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN, instead");
    }
    if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
      throw new ConfigError(s.key("uri"), uri, "an http:// or https:// URL of an MLflow tracking server is expected"
          + " (textspark talks to the server's REST API; databricks and file: stores are not supported), or empty"
          + " to turn tracking off");
    }
  }

  /** Whether runs are tracked at all (a tracking URI is set). */
  public boolean enabled() {
    return !uri.isEmpty();
  }
}
