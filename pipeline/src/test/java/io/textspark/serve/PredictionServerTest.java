package io.textspark.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.ServeConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import io.textspark.testing.TinyModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The prediction server over real HTTP on 127.0.0.1, on the small fixed model. */
class PredictionServerTest {
  private static final String LONG = String.join(" ", Collections.nCopies(40, "the students sent the books"));
  /** Texts of mixed lengths: short, medium, empty and one far over max_length (truncated). */
  private static final List<String> TEXTS = List.of("The book was written by John.", "Books were sent.",
      "The students who the teacher praised sent each other books about the old city by the river.",
      "", "Him book the.", "What did you say that John thought Mary bought?", LONG,
      "She seems to be happy.", "The more you eat, the fatter you get.", "Colorless green ideas sleep furiously.");

  @TempDir static Path dir;
  private static Predictor predictor;
  private static Map<String, Prediction> alone;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void load() {
    Path checkpoint = TinyModel.checkpoint(dir.resolve("run"), 11);
    predictor = Predictor.load(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        new InferenceSettings(32, 8, "cpu", 1), new Configuration());
    alone = new HashMap<>();
    for (String t : TEXTS) {
      alone.put(t, predictor.predict(List.of(t))[0]);
    }
  }

  @AfterAll
  static void close() {
    predictor.close();
  }

  private static ServeConfig config(String... overrides) {
    List<String> all = new ArrayList<>(List.of("serve.port=0"));
    all.addAll(List.of(overrides));
    return TextSparkConfig.load(List.of(), all).serve();
  }

  private static PredictionServer start(ServeConfig config, ApiKeys keys) {
    PredictionServer server = new PredictionServer(predictor, config, "", keys).start();
    server.warmUp();
    return server;
  }

  private static HttpResponse<String> send(PredictionServer server, String method, String path, String body,
      String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
        .timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String textsBody(List<String> texts) {
    JsonArray a = new JsonArray();
    texts.forEach(a::add);
    JsonObject o = new JsonObject();
    o.add("texts", a);
    return o.toString();
  }

  private static void assertSameAsAlone(String text, JsonObject row) {
    Prediction p = alone.get(text);
    assertEquals(p.label(), row.get("prediction").getAsString(), text);
    assertEquals(p.index(), row.get("prediction_index").getAsInt(), text);
    assertEquals(p.truncated(), row.get("truncated").getAsBoolean(), text);
    assertEquals(p.tokens(), row.get("tokens").getAsInt(), text);
    JsonObject probabilities = row.getAsJsonObject("probabilities");
    List<String> labels = predictor.labels();
    for (int j = 0; j < labels.size(); j++) {
      // Padding to a longer text in a batch changes float rounding only.
      assertEquals(p.probability(j), probabilities.get(labels.get(j)).getAsDouble(), 1e-5, text);
    }
  }

  @Test
  void manyConcurrentClientsGetWhatEachTextAloneGets() throws Exception {
    try (PredictionServer server = start(config("serve.threads=2", "serve.max_batch=16", "serve.max_wait=3ms",
        "serve.max_queue=4096"), ApiKeys.load("", null))) {
      ExecutorService clients = Executors.newFixedThreadPool(64);
      List<Future<Integer>> done = new ArrayList<>();
      for (int c = 0; c < 64; c++) {
        int client = c;
        done.add(clients.submit(() -> {
          int ok = 0;
          for (int r = 0; r < 50; r++) {
            int n = 1 + (client + r) % 3;
            List<String> texts = new ArrayList<>();
            for (int k = 0; k < n; k++) {
              texts.add(TEXTS.get((client * 7 + r * 3 + k) % TEXTS.size()));
            }
            String body = textsBody(texts);
            if (n == 1 && r % 2 == 0) {
              JsonObject one = new JsonObject();
              one.addProperty("text", texts.get(0));
              body = one.toString();
            }
            HttpResponse<String> response = send(server, "POST", "/v1/classify", body, "Content-Type",
                "application/json");
            assertEquals(200, response.statusCode(), response.body());
            JsonArray rows = JsonParser.parseString(response.body()).getAsJsonObject().getAsJsonArray("predictions");
            assertEquals(n, rows.size());
            for (int k = 0; k < n; k++) {
              assertSameAsAlone(texts.get(k), rows.get(k).getAsJsonObject());
            }
            ok++;
          }
          return ok;
        }));
      }
      int ok = 0;
      for (Future<Integer> f : done) {
        ok += f.get(10, TimeUnit.MINUTES);
      }
      clients.shutdown();
      assertEquals(64 * 50, ok);
      String metrics = send(server, "GET", "/metrics", null).body();
      assertEquals(64 * 50 + 0.0,
          sample(metrics, "textspark_http_requests_total{path=\"/v1/classify\",status=\"200\"}"), metrics);
      double batches = sample(metrics, "textspark_batch_size_texts_count");
      double texts = sample(metrics, "textspark_batch_size_texts_sum");
      assertTrue(batches < 64 * 50, "concurrent requests are merged into fewer batches: " + batches);
      assertEquals(texts, sample(metrics, "textspark_texts_total") + 2, "every text once, plus the 2 warm-ups");
    }
  }

  @Test
  void aFullQueueAnswers503WithRetryAfterAndTheServerRecovers() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    ServeConfig config = config("serve.threads=1", "serve.max_batch=1", "serve.max_wait=0", "serve.max_queue=2",
        "serve.max_texts=1", "serve.retry_after=3s");
    PredictionServer server = new PredictionServer(predictor, config, "", ApiKeys.load("", null), texts -> {
      if (calls.incrementAndGet() > 1) {
        // Holds the one inference thread so that requests pile up in the queue.
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return predictor.predict(texts);
    }).start();
    try {
      server.warmUp();
      ExecutorService clients = Executors.newFixedThreadPool(8);
      List<Future<HttpResponse<String>>> burst = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        burst.add(clients.submit(() -> send(server, "POST", "/v1/classify", "{\"text\": \"Books were sent.\"}")));
      }
      // 1 request held by the thread + 2 queued: the other 5 are refused at once.
      int refused = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      List<Future<HttpResponse<String>>> pending = new ArrayList<>(burst);
      while (refused < 5 && System.nanoTime() < deadline) {
        refused = 0;
        for (Future<HttpResponse<String>> f : pending) {
          if (f.isDone() && f.get().statusCode() == 503) {
            refused++;
          }
        }
        Thread.sleep(10);
      }
      assertEquals(5, refused);
      for (Future<HttpResponse<String>> f : burst) {
        if (f.isDone()) {
          HttpResponse<String> r = f.get();
          assertEquals(503, r.statusCode());
          assertEquals("3", r.headers().firstValue("Retry-After").orElse(null));
          JsonObject error = JsonParser.parseString(r.body()).getAsJsonObject();
          assertEquals("serve.max_queue", error.get("limit").getAsString());
          assertEquals(2, error.get("max").getAsInt());
        }
      }
      assertEquals(200, send(server, "GET", "/healthz", null).statusCode(), "alive while overloaded");
      release.countDown();
      int answered = 0;
      for (Future<HttpResponse<String>> f : burst) {
        int status = f.get(30, TimeUnit.SECONDS).statusCode();
        answered += status == 200 ? 1 : 0;
      }
      assertEquals(3, answered, "the held and the queued requests are answered");
      clients.shutdown();
      HttpResponse<String> after = send(server, "POST", "/v1/classify", "{\"text\": \"Books were sent.\"}");
      assertEquals(200, after.statusCode(), after.body());
      String metrics = send(server, "GET", "/metrics", null).body();
      assertEquals(5.0, sample(metrics, "textspark_http_requests_total{path=\"/v1/classify\",status=\"503\"}"));
      assertEquals(4.0, sample(metrics, "textspark_http_requests_total{path=\"/v1/classify\",status=\"200\"}"));
    } finally {
      release.countDown();
      server.close();
    }
  }

  @Test
  void badInputIsA4xxWithAJsonErrorNamingTheProblem() throws Exception {
    try (PredictionServer server = start(config("serve.max_texts=3", "serve.max_chars=50",
        "serve.max_body_bytes=400"), ApiKeys.load("", null))) {
      Object[][] cases = {
          {"{\"texts\": [\"a\"", 400, "malformed JSON"},
          {"not json", 400, "malformed JSON"},
          {"{\"texts\": [\"a\"]} {}", 400, "malformed JSON"},
          {"[\"a\"]", 400, "not an object"},
          {"{}", 400, "\"texts\" is missing"},
          {"{\"txt\": \"a\"}", 400, "\"texts\" is missing"},
          {"{\"text\": \"a\", \"texts\": [\"b\"]}", 400, "both"},
          {"{\"texts\": \"a\"}", 400, "\"texts\" is a JSON string, not an array"},
          {"{\"texts\": []}", 400, "\"texts\" is empty"},
          {"{\"texts\": [\"a\", 3]}", 400, "texts[1] is a JSON number"},
          {"{\"texts\": [\"a\", null]}", 400, "texts[1] is a JSON null"},
          {"{\"text\": {\"a\": 1}}", 400, "\"text\" is a JSON object"},
          {"{\"texts\": [\"a\", \"b\", \"c\", \"d\"]}", 413, "serve.max_texts"},
          {"{\"text\": \"" + "x".repeat(51) + "\"}", 413, "serve.max_chars"},
          {"{\"texts\": [\"" + "y".repeat(40) + "\"], \"pad\": \"" + "z".repeat(400) + "\"}", 413,
              "serve.max_body_bytes"},
      };
      for (Object[] c : cases) {
        HttpResponse<String> r = send(server, "POST", "/v1/classify", (String) c[0]);
        assertEquals(c[1], r.statusCode(), c[0] + " -> " + r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.body());
        JsonObject error = JsonParser.parseString(r.body()).getAsJsonObject();
        assertTrue(error.get("error").getAsString().contains((String) c[2]), c[0] + " -> " + r.body());
        assertEquals(c[1], error.get("status").getAsInt());
        if (r.statusCode() == 413) {
          assertEquals(c[2], error.get("limit").getAsString());
        }
      }
      HttpResponse<String> missing = send(server, "GET", "/v2/nothing", null);
      assertEquals(404, missing.statusCode());
      assertTrue(JsonParser.parseString(missing.body()).getAsJsonObject().get("error").getAsString()
          .contains("no such path /v2/nothing"), missing.body());
      HttpResponse<String> wrongMethod = send(server, "GET", "/v1/classify", null);
      assertEquals(405, wrongMethod.statusCode(), wrongMethod.body());
      assertTrue(wrongMethod.body().contains("use POST"), wrongMethod.body());
      assertEquals(405, send(server, "POST", "/healthz", "{}").statusCode());
      HttpResponse<String> ok = send(server, "POST", "/v1/classify", "{\"text\": \"Books were sent.\"}");
      assertEquals(200, ok.statusCode(), "the server still answers after every bad request: " + ok.body());
      assertSameAsAlone("Books were sent.", JsonParser.parseString(ok.body()).getAsJsonObject()
          .getAsJsonArray("predictions").get(0).getAsJsonObject());
      String metrics = send(server, "GET", "/metrics", null).body();
      assertEquals(12.0, sample(metrics, "textspark_http_requests_total{path=\"/v1/classify\",status=\"400\"}"));
      assertEquals(3.0, sample(metrics, "textspark_http_requests_total{path=\"/v1/classify\",status=\"413\"}"));
      assertEquals(1.0, sample(metrics, "textspark_http_requests_total{path=\"other\",status=\"404\"}"));
      assertEquals(0.0, sample(metrics, "textspark_http_requests_total{path=\"/v1/classify\",status=\"500\"}"));
    }
  }

  @Test
  void apiKeysGuardClassifyAndMetricsButNotTheProbes() throws Exception {
    try (PredictionServer server = start(config(), ApiKeys.load("", "first-key, second-key"))) {
      String body = "{\"text\": \"Books were sent.\"}";
      HttpResponse<String> none = send(server, "POST", "/v1/classify", body);
      assertEquals(401, none.statusCode());
      assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(null));
      assertTrue(none.body().contains("Authorization: Bearer"), none.body());
      HttpResponse<String> wrong = send(server, "POST", "/v1/classify", body, "Authorization", "Bearer first-ke");
      assertEquals(401, wrong.statusCode());
      assertFalse(wrong.body().contains("first-ke"), "a key is never echoed: " + wrong.body());
      assertEquals(401, send(server, "GET", "/metrics", null).statusCode());
      assertEquals(200, send(server, "POST", "/v1/classify", body, "Authorization", "Bearer second-key").statusCode());
      assertEquals(200, send(server, "GET", "/metrics", null, "Authorization", "Bearer first-key").statusCode());
      assertEquals(200, send(server, "GET", "/healthz", null).statusCode());
      HttpResponse<String> ready = send(server, "GET", "/readyz", null);
      assertEquals(200, ready.statusCode());
      assertTrue(ready.body().contains("ready"), ready.body());
    }
  }

  @Test
  void metricsAreValidPrometheusTextAndNameTheModel() throws Exception {
    try (PredictionServer server = start(config(), ApiKeys.load("", null))) {
      for (int i = 0; i < 3; i++) {
        assertEquals(200, send(server, "POST", "/v1/classify", textsBody(List.of("a", "b"))).statusCode());
      }
      HttpResponse<String> r = send(server, "GET", "/metrics", null);
      assertEquals(200, r.statusCode());
      assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
      // A sample line: name, optional {label="value",...}, a space, a number.
      Pattern sample = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*"
          + "(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})?"
          + " [-+]?([0-9.eE+-]+|NaN|\\+Inf|-Inf)");
      for (String line : r.body().split("\n")) {
        assertTrue(line.startsWith("# HELP ") || line.startsWith("# TYPE ") || sample.matcher(line).matches(), line);
      }
      String m = r.body();
      assertEquals(3.0, sample(m, "textspark_http_requests_total{path=\"/v1/classify\",status=\"200\"}"));
      assertEquals(3.0, sample(m, "textspark_http_request_duration_seconds_count{path=\"/v1/classify\"}"));
      assertEquals(6.0, sample(m, "textspark_texts_total"));
      assertEquals(8.0, sample(m, "textspark_batch_size_texts_sum"), "the 6 texts and a warm-up per inference thread");
      assertEquals(0.0, sample(m, "textspark_queue_texts"));
      assertTrue(m.contains("textspark_model_info{device=\"cpu()\",engine=\"pytorch\","
          + "labels=\"unacceptable,acceptable\",max_length=\"32\""), m);
      assertTrue(m.contains("# TYPE textspark_batch_size_texts histogram"), m);
    }
  }

  @Test
  void aPortInUseIsRefusedNamingTheKey() throws Exception {
    try (PredictionServer first = start(config(), ApiKeys.load("", null))) {
      PredictionServer second = new PredictionServer(predictor, config("serve.port=" + first.port()), "",
          ApiKeys.load("", null));
      TextSparkException e = assertThrows(TextSparkException.class, second::start);
      assertTrue(e.getMessage().contains("cannot listen on 127.0.0.1:" + first.port() + " (serve.host, serve.port)"),
          e.getMessage());
      assertEquals(200, send(first, "GET", "/healthz", null).statusCode(), "the first server is untouched");
    }
  }

  /** The value of the sample named exactly {@code series}, 0 when absent. */
  private static double sample(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
  }

  @Test
  void aStoppedServerHasAnsweredEveryRequestInFlight() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    PredictionServer server = new PredictionServer(predictor, config("serve.max_wait=0"), "", ApiKeys.load("", null),
        texts -> {
          entered.countDown();
          sleep(300);
          return predictor.predict(texts);
        }).start();
    ExecutorService clients = Executors.newFixedThreadPool(4);
    List<Future<HttpResponse<String>>> inFlight = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      inFlight.add(clients.submit(() -> send(server, "POST", "/v1/classify", "{\"text\": \"Books were sent.\"}")));
    }
    assertTrue(entered.await(30, TimeUnit.SECONDS));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (server.inFlight() < 4 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertEquals(4, server.inFlight(), "all four requests reached the server before it stops");
    server.stop(Duration.ofSeconds(30));
    assertEquals(0, server.inFlight());
    for (Future<HttpResponse<String>> f : inFlight) {
      HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode(), r.body());
      assertNotNull(JsonParser.parseString(r.body()).getAsJsonObject().get("predictions"));
    }
    clients.shutdown();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
