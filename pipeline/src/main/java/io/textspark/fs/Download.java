package io.textspark.fs;

import io.textspark.TextSparkException;
import io.textspark.console.Console;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Copies one URL (http, https, file, or any Hadoop file system such as hdfs and s3a) to a local
 * file, computing its SHA-256 on the way and reporting progress. The local file appears only when
 * the whole body has arrived.
 */
public final class Download {
  /** Size and SHA-256 of a finished download. */
  public record Result(long bytes, String sha256) {}

  /** Receives progress: bytes so far and the total, or -1 when the server did not say. */
  @FunctionalInterface
  public interface Progress {
    /** Called as bytes arrive, and once more at the end. */
    void update(long bytes, long total);
  }

  private static final int BUFFER = 64 * 1024;

  private Download() {}

  /**
   * Fetches {@code url} into {@code target}. {@code hint} completes error messages with what the
   * user can change (for example the config key holding the URL).
   */
  public static Result fetch(
      String url, java.nio.file.Path target, Duration timeout, Configuration hadoopConf, Progress progress, String hint) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new TextSparkException("\"" + url + "\" is not a valid URL (" + e.getMessage() + "). " + hint);
    }
    String scheme = uri.getScheme() == null ? "file" : uri.getScheme().toLowerCase(Locale.ROOT);
    java.nio.file.Path tmp = target.resolveSibling("." + target.getFileName() + ".part");
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      Result result;
      if (scheme.equals("http") || scheme.equals("https")) {
        result = fetchHttp(uri, tmp, timeout, progress, hint);
      } else {
        result = fetchHadoop(url, uri, tmp, hadoopConf, progress, hint);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return result;
    } catch (IOException e) {
      throw new TextSparkException("could not save " + url + " to " + target + ": " + e.getMessage() + ". " + hint, e);
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        Console.warn("warning: could not delete " + tmp + ": " + e.getMessage());
      }
    }
  }

  private static Result fetchHttp(URI uri, java.nio.file.Path tmp, Duration timeout, Progress progress, String hint)
      throws IOException {
    HttpURLConnection conn;
    try {
      conn = (HttpURLConnection) uri.toURL().openConnection();
    } catch (IllegalArgumentException e) {
      throw new TextSparkException("\"" + uri + "\" is not a valid URL (" + e.getMessage() + "). " + hint);
    }
    int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    conn.setConnectTimeout(millis);
    conn.setReadTimeout(millis);
    conn.setInstanceFollowRedirects(true);
    conn.setRequestProperty("User-Agent", "textspark");
    try {
      int status = conn.getResponseCode();
      if (status != HttpURLConnection.HTTP_OK) {
        throw new TextSparkException(
            "download of " + uri + " failed: the server answered HTTP " + status + " "
                + (conn.getResponseMessage() == null ? "" : conn.getResponseMessage()).trim()
                + ". Check the URL. " + hint);
      }
      long total = conn.getContentLengthLong();
      try (InputStream in = conn.getInputStream()) {
        return copy(in, tmp, total, progress, uri.toString(), hint);
      }
    } catch (UnknownHostException e) {
      throw new TextSparkException(
          "cannot reach " + uri + ": unknown host " + e.getMessage() + ". Check the URL, or point it at a"
              + " mirror when offline. " + hint, e);
    } catch (ConnectException e) {
      throw new TextSparkException(
          "cannot reach " + uri + ": " + e.getMessage() + ". Check that the server is up, or point the URL at"
              + " a mirror. " + hint, e);
    } catch (SocketTimeoutException e) {
      throw new TextSparkException(
          "download of " + uri + " timed out after " + timeout.toSeconds() + " s with no data (" + e.getMessage()
              + "). Retry, raise the timeout, or use a mirror. " + hint, e);
    } finally {
      conn.disconnect();
    }
  }

  private static Result fetchHadoop(
      String url, URI uri, java.nio.file.Path tmp, Configuration conf, Progress progress, String hint) throws IOException {
    Path path = new Path(uri);
    FileSystem fs = HadoopPaths.fs(path, conf);
    long total;
    try {
      total = fs.getFileStatus(path).getLen();
    } catch (FileNotFoundException e) {
      throw new TextSparkException("cannot download " + url + ": no such file. Check the path. " + hint, e);
    }
    try (InputStream in = fs.open(path)) {
      return copy(in, tmp, total, progress, url, hint);
    }
  }

  private static Result copy(InputStream in, java.nio.file.Path tmp, long total, Progress progress, String what, String hint)
      throws IOException {
    MessageDigest sha = sha256();
    long bytes = 0;
    byte[] buf = new byte[BUFFER];
    try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        bytes += n;
        progress.update(bytes, total);
      }
    }
    if (total >= 0 && bytes != total) {
      throw new TextSparkException(
          "download of " + what + " ended early: " + bytes + " of " + total + " bytes arrived. Retry. " + hint);
    }
    progress.update(bytes, bytes);
    return new Result(bytes, HexFormat.of().formatHex(sha.digest()));
  }

  /** A fresh SHA-256 digest. */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Hex SHA-256 of {@code bytes}. */
  public static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(sha256().digest(bytes));
  }

  /** A progress reporter that prints {@code label: 120 KiB / 249 KiB (48%)} at most twice a second. */
  public static Progress console(String label) {
    return new Progress() {
      private long lastPrint;
      private boolean done;

      @Override
      public void update(long bytes, long total) {
        long now = System.nanoTime();
        boolean finished = total >= 0 && bytes == total;
        if (done || (!finished && now - lastPrint < 500_000_000L)) {
          return;
        }
        lastPrint = now;
        done = finished;
        String pct = total > 0 ? String.format(Locale.ROOT, " (%d%%)", bytes * 100 / total) : "";
        String of = total >= 0 ? " / " + human(total) : "";
        Console.info(label + ": " + human(bytes) + of + pct);
      }
    };
  }

  /** {@code bytes} as B, KiB, MiB or GiB with one decimal. */
  public static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
