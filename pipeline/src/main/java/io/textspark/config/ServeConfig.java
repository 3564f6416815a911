package io.textspark.config;

import java.time.Duration;

/**
 * Settings of the {@code serve} command (the HTTP prediction server); every default is in
 * {@code conf/textspark.conf}. The model itself comes from the {@code score} section.
 *
 * @param host interface to listen on; default {@code 127.0.0.1}
 * @param port TCP port, 0 for a free one; default 8080
 * @param threads inference threads; default 2
 * @param maxBatch most texts scored together; default 32
 * @param maxWait longest wait of a batch's first request for others, may be zero; default 5 ms
 * @param maxQueue most texts waiting to be scored; default 512
 * @param maxBodyBytes largest request body in bytes; default 1 MiB
 * @param maxTexts most texts per request, at most {@code maxQueue}; default 64
 * @param maxChars most characters per text; default 20000
 * @param apiKeysFile file of API keys, one per line; default empty (none)
 * @param shutdownTimeout budget for in-flight requests after SIGTERM; default 30 s
 * @param retryAfter the {@code Retry-After} a full queue answers with; default 1 s
 */
public record ServeConfig(
    String host,
    int port,
    int threads,
    int maxBatch,
    Duration maxWait,
    int maxQueue,
    int maxBodyBytes,
    int maxTexts,
    int maxChars,
    String apiKeysFile,
    Duration shutdownTimeout,
    Duration retryAfter) {

  /** Reads and validates the {@code serve} section. */
  public static ServeConfig from(Settings s) {
    Duration maxWait = s.durationOrZero("max_wait");
    if (maxWait.compareTo(Duration.ofSeconds(1)) > 0) {
      throw new ConfigError(s.key("max_wait"), maxWait.toMillis() + "ms",
          "allowed range is 0 to 1s (a few milliseconds is usual: every request may wait this long)");
    }
    int maxQueue = s.intIn("max_queue", 1, 10_000_000);
    int maxTexts = s.intIn("max_texts", 1, 1_000_000);
    if (maxTexts > maxQueue) {
      throw new ConfigError(s.key("max_texts"), maxTexts, "it must be at most serve.max_queue (" + maxQueue
          + "), or a request of that many texts could never be queued; raise serve.max_queue or lower it");
    }
    Duration retryAfter = s.duration("retry_after");
    return new ServeConfig(
        s.nonEmpty("host").trim(),
        s.intIn("port", 0, 65_535),
        s.intIn("threads", 1, 256),
        s.intIn("max_batch", 1, 65_536),
        maxWait,
        maxQueue,
        s.intIn("max_body_bytes", 1, Integer.MAX_VALUE),
        maxTexts,
        s.intIn("max_chars", 1, Integer.MAX_VALUE),
        s.string("api_keys_file").trim(),
        s.duration("shutdown_timeout"),
        retryAfter);
  }
}
