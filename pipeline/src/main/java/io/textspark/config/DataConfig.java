package io.textspark.config;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Settings of the {@code download} stage and where the data stages keep their output.
 *
 * @param url where the CoLA zip comes from (http, https, file, hdfs, s3a); default the official
 *     {@code https://nyu-mll.github.io/CoLA/cola_public_1.1.zip}, or {@code $COLA_URL}
 * @param sha256 hex SHA-256 the zip must have; empty (the default) skips the check
 * @param root folder on any Hadoop file system holding {@code raw/} and {@code tokenized/};
 *     default {@code data/cola}
 * @param maxRejectFraction largest share of malformed TSV rows tolerated; default 0.01
 * @param timeout connect and read timeout of the download; default 60 s
 * @param overwrite redo a stage whose output exists for the same input; default false
 */
public record DataConfig(
    String url,
    String sha256,
    String root,
    double maxRejectFraction,
    Duration timeout,
    boolean overwrite) {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");

  /** Reads and validates the {@code data} section. */
  public static DataConfig from(Settings s) {
    String sha = s.string("sha256").trim();
    if (!sha.isEmpty() && !SHA256.matcher(sha).matches()) {
      throw new ConfigError("data.sha256", sha, "64 hexadecimal digits are expected, or empty to skip the check");
    }
    return new DataConfig(
        s.nonEmpty("url"),
        sha.toLowerCase(java.util.Locale.ROOT),
        s.nonEmpty("root"),
        s.doubleIn("max_reject_fraction", 0.0, 1.0),
        s.duration("timeout"),
        s.bool("overwrite"));
  }
}
