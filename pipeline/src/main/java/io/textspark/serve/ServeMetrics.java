package io.textspark.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * The server's Prometheus metrics, in a registry of its own (so two servers in one JVM, as in tests,
 * count apart): requests by path and status, request latency, texts per model batch, texts waiting,
 * and which model, engine and version are serving.
 */
public final class ServeMetrics {
  /** Latency buckets in seconds: a short text on a small model takes milliseconds, a full batch seconds. */
  private static final double[] LATENCY_BOUNDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
      5, 10};
  private static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter requests;
  private final Counter texts;
  private final Histogram latency;
  private final Histogram batchSize;

  /**
   * Metrics of a server running {@code model} with {@code labels} on {@code engine} ({@code pytorch}
   * or {@code onnxruntime}), reading the queue depth from {@code queued}.
   */
  public ServeMetrics(String model, List<String> labels, int maxLength, String device, String engine,
      IntSupplier queued) {
    requests = Counter.builder().name("textspark_http_requests_total")
        .help("HTTP requests answered, by path and status code (errors are the 4xx and 5xx codes)")
        .labelNames("path", "status").register(registry);
    texts = Counter.builder().name("textspark_texts_total")
        .help("Texts classified").register(registry);
    latency = Histogram.builder().name("textspark_http_request_duration_seconds")
        .help("Time from a request's arrival to its answer, by path").labelNames("path")
        .classicOnly().classicUpperBounds(LATENCY_BOUNDS).register(registry);
    batchSize = Histogram.builder().name("textspark_batch_size_texts")
        .help("Texts per model batch (requests merged by the dynamic batcher)")
        .classicOnly().classicUpperBounds(BATCH_BOUNDS).register(registry);
    GaugeWithCallback.builder().name("textspark_queue_texts")
        .help("Texts waiting in the queue for an inference thread")
        .callback(cb -> cb.call(queued.getAsInt())).register(registry);
    Info info = Info.builder().name("textspark_model_info")
        .help("The model being served, the engine running it and the textspark version serving it")
        .labelNames("model", "labels", "max_length", "device", "engine", "version").register(registry);
    info.setLabelValues(model, String.join(",", labels), Integer.toString(maxLength), device, engine, version());
  }

  /** The textspark version from the jar's manifest, or {@code dev} when run from classes. */
  public static String version() {
    String v = ServeMetrics.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  /** Counts one answered request. */
  public void request(String path, int status, long nanos) {
    requests.labelValues(path, Integer.toString(status)).inc();
    latency.labelValues(path).observe(nanos / 1e9);
  }

  /** Counts {@code n} texts classified. */
  public void texts(int n) {
    texts.inc(n);
  }

  /** Records one model batch of {@code n} texts. */
  public void batch(int n) {
    batchSize.observe(n);
  }

  /** The content type of {@link #scrape()}. */
  public String contentType() {
    return writer.getContentType();
  }

  /** Every metric in the Prometheus text format. */
  public String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
