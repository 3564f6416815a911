package io.textspark.tracking;

import io.textspark.config.TrackingConfig;
import io.textspark.console.Console;
import io.textspark.fs.HadoopPaths;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.mlflow.api.proto.Service.RunInfo;

/**
 * Uploads a run's artifacts through the tracking server's artifact proxy, as MLflow's own
 * {@code mlflow-artifacts} repository does: {@code PUT {uri}/api/2.0/mlflow-artifacts/artifacts/<path>}
 * with the file as the body, for runs whose {@code artifact_uri} is {@code mlflow-artifacts:/...}.
 * MLflow's Java client would shell out to the Python CLI instead, which a Spark executor has not.
 */
final class ArtifactUpload {
  static final String SCHEME = "mlflow-artifacts";
  private static final String API = "/api/2.0/mlflow-artifacts/artifacts";

  private final TrackingConfig cfg;
  private final Credentials credentials;
  private final HttpClient http;

  ArtifactUpload(TrackingConfig cfg, Credentials credentials) {
    this.cfg = cfg;
    this.credentials = credentials;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(cfg.timeout());
    if (credentials.insecureTls()) {
      b.sslContext(trustAll());
    }
    this.http = b.build();
  }

  /** Uploads every file under {@code folder} to {@code artifactPath} of the run; false when it cannot. */
  boolean upload(RunInfo run, Path folder, String artifactPath, Configuration conf) {
    String base = base(run.getArtifactUri());
    if (base == null) {
      Console.warn("tracking: run %s stores artifacts at %s, which textspark cannot write from the JVM (MLflow's"
          + " Java client would call the Python mlflow CLI); the checkpoint stays at %s. To upload it, start the"
          + " MLflow server with --serve-artifacts and --artifacts-destination %s, so new runs get mlflow-artifacts:/"
          + " URIs.", run.getRunId(), run.getArtifactUri(), folder, run.getArtifactUri());
      return false;
    }
    try {
      FileSystem fs = HadoopPaths.fs(folder, conf);
      for (String relative : files(fs, folder, "")) {
        String target = artifactPath.isEmpty() ? relative : artifactPath + "/" + relative;
        put(base + "/" + encode(target), fs, new Path(folder, relative));
      }
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException("uploading " + folder + ": " + e.getMessage(), e);
    }
  }

  /** {@code {uri}/api/2.0/mlflow-artifacts/artifacts/<run's path>}, or null for another scheme. */
  String base(String artifactUri) {
    URI uri = URI.create(artifactUri);
    if (!SCHEME.equals(uri.getScheme())) {
      return null;
    }
    // mlflow-artifacts://host:port/path names another server than the tracking one; keep its scheme.
    String server = uri.getAuthority() == null ? cfg.uri() : URI.create(cfg.uri()).getScheme() + "://" + uri.getAuthority();
    String path = uri.getPath() == null ? "" : uri.getPath().replaceAll("^/+|/+$", "");
    return server + API + (path.isEmpty() ? "" : "/" + encode(path));
  }

  private void put(String url, FileSystem fs, Path file) throws IOException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(cfg.timeout())
        .header("Content-Type", "application/octet-stream")
        .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> {
          try {
            return fs.open(file);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }));
    String auth = credentials.authorization();
    if (auth != null) {
      request.header("Authorization", auth);
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (response.statusCode() / 100 != 2) {
      throw new IOException("PUT " + URI.create(url).getPath() + " returned HTTP " + response.statusCode() + ": "
          + MlflowTracking.cut(response.body(), 300));
    }
  }

  private static List<String> files(FileSystem fs, Path folder, String prefix) throws IOException {
    List<String> out = new ArrayList<>();
    for (FileStatus s : fs.listStatus(folder)) {
      String name = prefix + s.getPath().getName();
      if (name.endsWith(".crc") && s.getPath().getName().startsWith(".")) {
        continue; // the local file system's checksums, not part of the checkpoint
      }
      if (s.isDirectory()) {
        out.addAll(files(fs, s.getPath(), name + "/"));
      } else {
        out.add(name);
      }
    }
    out.sort(null);
    return out;
  }

  /** Percent-encodes each segment of {@code path}, keeping the slashes. */
  static String encode(String path) {
    List<String> parts = new ArrayList<>();
    for (String segment : path.split("/", -1)) {
      parts.add(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return String.join("/", parts);
  }

  private static SSLContext trustAll() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS without verification: " + e.getMessage(), e);
    }
  }
}
