package io.textspark.tracking;

import java.util.Map;

/**
 * Credentials for the tracking server, only from MLflow's standard environment variables (never
 * from the configuration, which is saved with checkpoints). {@link #toString()} shows no secret.
 *
 * @param username {@code MLFLOW_TRACKING_USERNAME}, or null
 * @param password {@code MLFLOW_TRACKING_PASSWORD}, or null
 * @param token {@code MLFLOW_TRACKING_TOKEN} (a bearer token), or null
 * @param insecureTls {@code MLFLOW_TRACKING_INSECURE_TLS=true}: do not verify the server's certificate
 */
record Credentials(String username, String password, String token, boolean insecureTls) {
  static Credentials from(Map<String, String> env) {
    return new Credentials(blankToNull(env.get("MLFLOW_TRACKING_USERNAME")),
        blankToNull(env.get("MLFLOW_TRACKING_PASSWORD")), blankToNull(env.get("MLFLOW_TRACKING_TOKEN")),
        "true".equalsIgnoreCase(env.getOrDefault("MLFLOW_TRACKING_INSECURE_TLS", "false").trim()));
  }

  /** The Authorization header MLflow's client sends (basic auth first, as it does), or null. */
  String authorization() {
    if (username != null && password != null) {
      return "Basic " + java.util.Base64.getEncoder().encodeToString(
          (username + ":" + password).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    return token == null ? null : "Bearer " + token;
  }

  @Override
  public String toString() {
    return "Credentials[" + (username != null ? "basic" : token != null ? "token" : "none") + "]";
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
