package io.textspark.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.textspark.TextSparkException;
import io.textspark.config.ServeConfig;
import io.textspark.inference.PredictJob;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;

/**
 * The HTTP prediction server on one {@link Predictor}: {@code POST /v1/classify}, {@code GET /healthz},
 * {@code GET /readyz} and {@code GET /metrics}, on Javalin (Jetty), with limits, optional API keys,
 * back-pressure (503 and {@code Retry-After} when the {@link DynamicBatcher}'s queue is full) and a
 * graceful stop. Every error is a JSON body {@code {"error": ..., "status": ...}}; bad input is a 4xx,
 * never a 500.
 */
public final class PredictionServer implements AutoCloseable {
  private static final Set<String> PATHS = Set.of("/v1/classify", "/healthz", "/readyz", "/metrics");
  private static final String JSON = "application/json";
  private static final String COUNTED = "textspark.counted";
  private static final String STARTED = "textspark.started";

  private final Predictor predictor;
  private final ServeConfig config;
  private final ApiKeys keys;
  private final DynamicBatcher batcher;
  private final ServeMetrics metrics;
  private final Gson gson = new GsonBuilder().disableHtmlEscaping().create();
  private final int scoreIndex;
  private final AtomicBoolean ready = new AtomicBoolean();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Javalin app;

  /**
   * A server for {@code predictor} (owned by the caller) with the limits and threads of {@code config},
   * the {@code score label} {@code scoreLabel} (empty: the last label) and {@code keys}; not yet listening.
   */
  public PredictionServer(Predictor predictor, ServeConfig config, String scoreLabel, ApiKeys keys) {
    this(predictor, config, scoreLabel, keys, predictor::predict);
  }

  /** A server whose batches are scored by {@code scorer} instead of the predictor; for tests in this package. */
  PredictionServer(Predictor predictor, ServeConfig config, String scoreLabel, ApiKeys keys,
      Function<List<String>, Prediction[]> scorer) {
    this.predictor = predictor;
    this.config = config;
    this.keys = keys;
    this.scoreIndex = predictor.scoreIndex(scoreLabel);
    DynamicBatcher[] holder = new DynamicBatcher[1];
    this.metrics = new ServeMetrics(predictor.reference(), predictor.labels(), predictor.maxLength(),
        predictor.device().toString(), predictor.engine().label(),
        () -> holder[0] == null ? 0 : holder[0].queuedTexts());
    this.batcher = new DynamicBatcher(scorer, config.threads(), config.maxBatch(), config.maxWait(),
        config.maxQueue(), metrics::batch);
    holder[0] = batcher;
    this.app = Javalin.create(cfg -> {
      cfg.showJavalinBanner = false;
      cfg.startupWatcherEnabled = false;
      cfg.http.prefer405over404 = true;
      cfg.http.maxRequestSize = config.maxBodyBytes();
      cfg.requestLogger.http(this::finished);
    });
    app.before(this::admit);
    app.get("/healthz", ctx -> json(ctx, 200, status("ok")));
    app.get("/readyz", ctx -> json(ctx, ready.get() ? 200 : 503, readiness()));
    app.get("/metrics", ctx -> ctx.status(200).contentType(metrics.contentType()).result(metrics.scrape()));
    app.post("/v1/classify", this::classify);
    app.exception(ApiError.class, (e, ctx) -> error(ctx, e));
    app.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus() == 413 ? tooLarge()
        : new ApiError(e.getStatus(), e.getMessage())));
    app.exception(Exception.class, (e, ctx) -> error(ctx, new ApiError(500, "internal error: " + e)));
    app.error(404, ctx -> error(ctx, new ApiError(404, "no such path " + ctx.path() + "; the API is POST"
        + " /v1/classify, GET /healthz, GET /readyz and GET /metrics")));
    app.error(405, ctx -> error(ctx, new ApiError(405, ctx.method() + " is not allowed on " + ctx.path()
        + "; use " + (ctx.path().equals("/v1/classify") ? "POST" : "GET"))));
  }

  /** Opens the port (serve.host and serve.port); the server is live but not ready until {@link #warmUp}. */
  public PredictionServer start() {
    try {
      app.start(config.host(), config.port());
    } catch (RuntimeException e) {
      batcher.close();
      throw new TextSparkException("cannot listen on " + config.host() + ":" + config.port() + " (serve.host,"
          + " serve.port): " + e.getMessage() + "; choose a free port (--port, 0 for any) or an address of this"
          + " machine (--host).", e);
    }
    return this;
  }

  /** Scores one text through the batcher on every inference thread, then reports ready. */
  public void warmUp() {
    CompletableFuture<?>[] all = new CompletableFuture<?>[config.threads()];
    for (int i = 0; i < all.length; i++) {
      all[i] = batcher.submit(List.of("A short sentence to warm the model up."));
    }
    CompletableFuture.allOf(all).join();
    ready.set(true);
  }

  /** The port the server listens on. */
  public int port() {
    return app.port();
  }

  /** Whether the model is loaded and warmed up. */
  public boolean ready() {
    return ready.get();
  }

  /** Requests received and not yet answered; for tests in this package. */
  int inFlight() {
    return inFlight.get();
  }

  /** The metrics this server exports on {@code /metrics}. */
  public ServeMetrics metrics() {
    return metrics;
  }

  /**
   * Stops gracefully: stops accepting connections, answers new requests on open ones with 503, waits
   * up to {@code timeout} for the requests in flight to be answered, then stops the HTTP server and the
   * inference threads. The predictor stays open (its owner closes it).
   */
  public void stop(Duration timeout) throws InterruptedException {
    ready.set(false);
    draining.set(true);
    long deadline = System.nanoTime() + timeout.toNanos();
    Server jetty = app.jettyServer().server();
    for (Connector c : jetty == null ? new Connector[0] : jetty.getConnectors()) {
      // Closes the listening socket only; connections already open keep being served.
      c.shutdown();
    }
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(5);
    }
    batcher.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    app.stop();
  }

  /** {@link #stop(Duration)} with {@code serve.shutdown_timeout}; an interrupt stops the waiting, not the stop. */
  @Override
  public void close() {
    try {
      stop(config.shutdownTimeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      app.stop();
    }
  }

  private void admit(Context ctx) {
    ctx.attribute(STARTED, System.nanoTime());
    if (draining.get()) {
      ctx.header("Connection", "close");
      throw new ApiError(503, "the server is shutting down");
    }
    inFlight.incrementAndGet();
    ctx.attribute(COUNTED, Boolean.TRUE);
    String path = ctx.path();
    if ((path.equals("/v1/classify") || path.equals("/metrics")) && !keys.allows(ctx.header("Authorization"))) {
      ctx.header("WWW-Authenticate", "Bearer");
      throw new ApiError(401, ctx.header("Authorization") == null
          ? "an API key is required: send the header Authorization: Bearer <key>"
          : "the API key is not valid");
    }
  }

  private void finished(Context ctx, Float ms) {
    Long started = ctx.attribute(STARTED);
    long nanos = started == null ? (long) (ms * 1e6) : System.nanoTime() - started;
    String path = PATHS.contains(ctx.path()) ? ctx.path() : "other";
    metrics.request(path, ctx.statusCode(), nanos);
    if (ctx.attribute(COUNTED) != null) {
      inFlight.decrementAndGet();
    }
  }

  private void classify(Context ctx) {
    String body = readBody(ctx);
    List<String> texts = ClassifyRequest.parse(body, config);
    CompletableFuture<Prediction[]> scored;
    try {
      scored = batcher.submit(texts);
    } catch (DynamicBatcher.QueueFull e) {
      ctx.header("Retry-After", Long.toString(Math.max(1, config.retryAfter().toSeconds())));
      throw new ApiError(503, e.getMessage() + " (serve.max_queue); retry after the Retry-After seconds",
          "serve.max_queue", config.maxQueue());
    } catch (IllegalStateException e) {
      throw new ApiError(503, e.getMessage());
    }
    ctx.future(() -> scored.handle((predictions, failure) -> {
      if (failure != null) {
        error(ctx, new ApiError(500, "the model failed on this batch: " + failure));
      } else {
        metrics.texts(texts.size());
        json(ctx, 200, answer(predictions));
      }
      return null;
    }));
  }

  private JsonObject answer(Prediction[] predictions) {
    JsonObject o = new JsonObject();
    o.addProperty("model", predictor.reference());
    o.addProperty("max_length", predictor.maxLength());
    JsonArray rows = new JsonArray();
    for (Prediction p : predictions) {
      rows.add(PredictJob.toJson(null, p, predictor.labels(), scoreIndex));
    }
    o.add("predictions", rows);
    return o;
  }

  /** The body as UTF-8, reading at most serve.max_body_bytes whether or not a Content-Length was sent. */
  private String readBody(Context ctx) {
    long declared = ctx.req().getContentLengthLong();
    if (declared > config.maxBodyBytes()) {
      throw tooLarge();
    }
    byte[] bytes;
    try (InputStream in = ctx.req().getInputStream()) {
      bytes = in.readNBytes(config.maxBodyBytes() + 1);
    } catch (IOException e) {
      throw new ApiError(400, "cannot read the request body: " + e.getMessage());
    }
    if (bytes.length > config.maxBodyBytes()) {
      throw tooLarge();
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private ApiError tooLarge() {
    return new ApiError(413, "the request body is larger than " + config.maxBodyBytes()
        + " bytes (serve.max_body_bytes); send fewer or shorter texts", "serve.max_body_bytes",
        config.maxBodyBytes());
  }

  /** The readiness answer: the status, and the model and engine that serve it. */
  private JsonObject readiness() {
    JsonObject o = status(ready.get() ? "ready" : "warming up");
    o.addProperty("model", predictor.reference());
    o.addProperty("engine", predictor.engine().label());
    o.addProperty("device", predictor.device().toString());
    o.addProperty("max_length", predictor.maxLength());
    return o;
  }

  private static JsonObject status(String status) {
    JsonObject o = new JsonObject();
    o.addProperty("status", status);
    return o;
  }

  private void error(Context ctx, ApiError e) {
    json(ctx, e.status(), e.toJson());
  }

  private void json(Context ctx, int status, JsonObject body) {
    ctx.status(status).contentType(JSON).result(gson.toJson(body));
  }
}
