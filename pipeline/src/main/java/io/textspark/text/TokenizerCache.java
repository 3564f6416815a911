package io.textspark.text;

import io.textspark.fs.Download;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One tokenizer per JVM for each (tokenizer file, maximum length): executors share it across
 * their tasks instead of building one per task or per row.
 */
public final class TokenizerCache {
  private static final ConcurrentHashMap<String, BertTokenizer> CACHE = new ConcurrentHashMap<>();
  private static final AtomicInteger BUILT = new AtomicInteger();

  private TokenizerCache() {}

  /** The JVM's tokenizer for {@code tokenizerJson} (identified by its SHA-256) and {@code maxLength}. */
  public static BertTokenizer get(byte[] tokenizerJson, String sha256, int maxLength) {
    return CACHE.computeIfAbsent(sha256 + "/" + maxLength, k -> {
      BUILT.incrementAndGet();
      return BertTokenizer.fromJson(tokenizerJson, maxLength);
    });
  }

  /** The JVM's tokenizer for {@code tokenizerJson} and {@code maxLength}. */
  public static BertTokenizer get(byte[] tokenizerJson, int maxLength) {
    return get(tokenizerJson, Download.sha256Hex(tokenizerJson), maxLength);
  }

  /** How many tokenizers this JVM has built so far; lets tests check the reuse. */
  public static int built() {
    return BUILT.get();
  }
}
