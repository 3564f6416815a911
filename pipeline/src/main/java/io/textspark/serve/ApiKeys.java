package io.textspark.serve;

import io.textspark.TextSparkException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The API keys a server accepts in {@code Authorization: Bearer <key>}, from a file (one key per line,
 * {@code #} comments) and the {@code TEXTSPARK_API_KEYS} environment variable (comma-separated). Only
 * SHA-256 digests are kept, compared in constant time, and no key is ever printed.
 */
public final class ApiKeys {
  /** The environment variable with comma-separated keys. */
  public static final String ENV = "TEXTSPARK_API_KEYS";

  private final List<byte[]> digests;

  private ApiKeys(List<byte[]> digests) {
    this.digests = digests;
  }

  /** The keys of {@code file} (empty for none) and of {@code envValue} (null or empty for none). */
  public static ApiKeys load(String file, String envValue) {
    List<byte[]> digests = new ArrayList<>();
    if (!file.isEmpty()) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new TextSparkException("cannot read the API keys file " + file + " (serve.api_keys_file): " + e
            + "; point serve.api_keys_file at a readable file of keys, one per line, or set it to \"\".");
      }
      for (String line : lines) {
        String key = line.strip();
        if (!key.isEmpty() && !key.startsWith("#")) {
          digests.add(digest(key));
        }
      }
      if (digests.isEmpty()) {
        throw new TextSparkException("the API keys file " + file + " (serve.api_keys_file) has no key; add keys,"
            + " one per line, or set serve.api_keys_file = \"\" to serve without authentication.");
      }
    }
    if (envValue != null) {
      for (String part : envValue.split(",")) {
        if (!part.isBlank()) {
          digests.add(digest(part.strip()));
        }
      }
    }
    return new ApiKeys(List.copyOf(digests));
  }

  /** Whether any key is configured (else every request is allowed). */
  public boolean required() {
    return !digests.isEmpty();
  }

  /** How many keys are configured. */
  public int count() {
    return digests.size();
  }

  /** Whether {@code authorization} (the header's value, may be null) carries one of the keys. */
  public boolean allows(String authorization) {
    if (!required()) {
      return true;
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    byte[] given = digest(authorization.substring(7).strip());
    boolean match = false;
    // Every key is compared, each in constant time, so timing says nothing about which one nearly matched.
    for (byte[] d : digests) {
      match |= MessageDigest.isEqual(d, given);
    }
    return match;
  }

  private static byte[] digest(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
