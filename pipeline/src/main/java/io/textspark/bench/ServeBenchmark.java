package io.textspark.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.DefaultModel;
import io.textspark.config.BenchConfig;
import io.textspark.config.ScoreConfig;
import io.textspark.config.ServeConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.console.Console;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import io.textspark.serve.ApiKeys;
import io.textspark.serve.PredictionServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code textspark bench-serve}: throughput and latency of {@code textspark serve} against the usual
 * alternative, a Flask app around the same model in plain PyTorch that answers one request at a time
 * ({@code bench/flask_server.py}), at each client concurrency, with requests of one sentence each.
 */
public final class ServeBenchmark {
  /** Sentences of mixed lengths, sent in turn. */
  static final List<String> SENTENCES = List.of(
      "The book was written by John.",
      "Books were sent to each of the students.",
      "Him book the.",
      "What did you say that John thought Mary bought at the market yesterday?",
      "The more you read, the more you know.",
      "She seems to be happy about the results of the election, although nobody else in her family is.",
      "The students who the teacher praised sent each other books about the old city by the river.",
      "Colorless green ideas sleep furiously.",
      "John tried to leave.",
      "It is easy to please John, but it is not easy to please his brother, who complains about everything.",
      "The cat sat.",
      "Which report did the committee decide that the board should publish before the end of the year?");

  /** The figures of one server at one concurrency. */
  public record Level(int concurrency, int requests, double seconds, double p50Millis, double p99Millis, int errors) {
    /** Requests answered per second. */
    public double throughput() {
      return requests / seconds;
    }
  }

  private ServeBenchmark() {}

  /** Runs both servers at every concurrency of {@code bench.serve} and prints the table; returns textspark's levels. */
  public static List<Level> run(TextSparkConfig config, PrintStream out) throws IOException, InterruptedException {
    BenchConfig.Serve bench = config.bench().serve();
    ScoreConfig s = config.score();
    ServeConfig serve = config.serve();
    Configuration conf = new Configuration();
    String reference = DefaultModel.reference(s.model(), config.train(), conf);
    int cores = Runtime.getRuntime().availableProcessors();
    int torchThreads = s.threads() > 0 ? s.threads() : Math.max(1, cores / serve.threads());
    InferenceSettings settings = new InferenceSettings(s.maxLength(), s.batchSize(), s.device(), torchThreads, s.engine());
    List<Level> ours = new ArrayList<>();
    List<Level> flask = new ArrayList<>();
    String model;
    int maxLength;
    List<String> labels;
    Prediction[] expected;
    try (Predictor predictor = Predictor.load(reference, config.model(), settings, conf)) {
      model = predictor.reference();
      maxLength = predictor.maxLength();
      labels = predictor.labels();
      expected = predictor.predict(SENTENCES);
      out.printf(Locale.ROOT, "bench-serve: model %s (max_length %d), %d requests of one sentence per level%n",
          model, maxLength, bench.requests());
      ServeConfig local = config.overriding("serve.host=127.0.0.1", "serve.port=0").serve();
      PredictionServer server = new PredictionServer(predictor, local, s.scoreLabel(), ApiKeys.load("", null));
      try {
        server.start().warmUp();
        for (int c : bench.concurrency()) {
          ours.add(level(server.port(), c, bench.requests()));
          out.println("  textspark serve  " + row(ours.get(ours.size() - 1)));
        }
      } finally {
        server.close();
      }
    }
    if (bench.flask()) {
      flask = runFlask(config, model, maxLength, cores, bench, labels, expected, out);
    }
    print(out, serve, torchThreads, cores, ours, flask);
    return ours;
  }

  private static List<Level> runFlask(TextSparkConfig config, String model, int maxLength, int cores,
      BenchConfig.Serve bench, List<String> labels, Prediction[] expected, PrintStream out)
      throws IOException, InterruptedException {
    Path folder = Path.of(model.startsWith("file:") ? URI.create(model).getPath() : model);
    if (!Files.isRegularFile(folder.resolve("tokenizer.json"))) {
      throw new TextSparkException("the Flask baseline reads a local checkpoint folder with tokenizer.json, and "
          + folder + " has none; pass --model a checkpoint folder, or bench.serve.flask=false.");
    }
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    String python = config.bench().train().python();
    List<String> command = List.of(python, bench.script(), "--model", folder.toString(), "--port",
        Integer.toString(port), "--max-length", Integer.toString(maxLength), "--threads", Integer.toString(cores));
    Console.info("bench: " + String.join(" ", command));
    Process flask;
    try {
      flask = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new TextSparkException("cannot start " + python + ": " + e.getMessage() + ". Install Debian's"
          + " python3-flask, python3-torch and libopenblas0-openmp, set bench.train.python to an interpreter that"
          + " has them, or bench.serve.flask=false.", e);
    }
    List<Level> levels = new ArrayList<>();
    try {
      awaitHealthy(port, flask);
      checkAgreement(port, labels, expected, out);
      for (int c : bench.concurrency()) {
        levels.add(level(port, c, bench.requests()));
        out.println("  Flask + PyTorch  " + row(levels.get(levels.size() - 1)));
      }
    } finally {
      flask.destroy();
      if (!flask.waitFor(10, TimeUnit.SECONDS)) {
        flask.destroyForcibly();
      }
    }
    return levels;
  }

  private static void awaitHealthy(int port, Process flask) throws InterruptedException {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      if (!flask.isAlive()) {
        throw new TextSparkException("the Flask server exited with code " + flask.exitValue() + " before answering;"
            + " run bench/flask_server.py by hand to see why.");
      }
      try {
        if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // Not listening yet.
      }
      Thread.sleep(200);
    }
    throw new TextSparkException("the Flask server did not answer /healthz within 2 minutes");
  }

  /**
   * Prints how often Flask's label equals textspark's on {@link #SENTENCES} and the largest probability
   * difference: the same model behind both, with the tokenizer written separately on the Python side.
   */
  private static void checkAgreement(int port, List<String> labels, Prediction[] expected, PrintStream out) {
    HttpClient http = HttpClient.newHttpClient();
    int same = 0;
    double largest = 0;
    for (int i = 0; i < SENTENCES.size(); i++) {
      String body;
      try {
        body = http.send(post(port, SENTENCES.get(i)), HttpResponse.BodyHandlers.ofString()).body();
      } catch (IOException | InterruptedException e) {
        throw new TextSparkException("the Flask server does not answer: " + e, e);
      }
      JsonObject row = JsonParser.parseString(body).getAsJsonObject().getAsJsonArray("predictions").get(0)
          .getAsJsonObject();
      same += row.get("prediction_index").getAsInt() == expected[i].index() ? 1 : 0;
      JsonObject p = row.getAsJsonObject("probabilities");
      for (int j = 0; j < labels.size(); j++) {
        largest = Math.max(largest, Math.abs(p.get(labels.get(j)).getAsDouble() - expected[i].probability(j)));
      }
    }
    out.printf(Locale.ROOT, "  Flask + PyTorch  agrees with textspark on %d of %d labels, largest probability"
        + " difference %.2g%n", same, SENTENCES.size(), largest);
  }

  private static HttpRequest post(int port, String text) {
    JsonObject o = new JsonObject();
    o.addProperty("text", text);
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/classify"))
        .header("Content-Type", "application/json").timeout(Duration.ofMinutes(2))
        .POST(HttpRequest.BodyPublishers.ofString(o.toString())).build();
  }

  /** {@code requests} single-sentence requests from {@code clients} threads, after a warm-up of 2 each. */
  static Level level(int port, int clients, int requests) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      send(http, port, pool, clients, 2 * clients, new long[2 * clients]);
      long[] latencies = new long[requests];
      long started = System.nanoTime();
      int errors = send(http, port, pool, clients, requests, latencies);
      double seconds = (System.nanoTime() - started) / 1e9;
      Arrays.sort(latencies);
      return new Level(clients, requests, seconds, percentile(latencies, 0.50), percentile(latencies, 0.99), errors);
    } finally {
      pool.shutdownNow();
    }
  }

  private static int send(HttpClient http, int port, ExecutorService pool, int clients, int requests,
      long[] latencies) throws InterruptedException {
    AtomicInteger next = new AtomicInteger();
    AtomicInteger errors = new AtomicInteger();
    List<Future<?>> running = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      running.add(pool.submit(() -> {
        for (int i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
          long t = System.nanoTime();
          try {
            HttpResponse<String> r = http.send(post(port, SENTENCES.get(i % SENTENCES.size())),
                HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
              errors.incrementAndGet();
            }
          } catch (IOException e) {
            errors.incrementAndGet();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          latencies[i] = System.nanoTime() - t;
        }
      }));
    }
    for (Future<?> f : running) {
      try {
        f.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException(e.getCause());
      }
    }
    return errors.get();
  }

  private static double percentile(long[] sorted, double q) {
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }

  private static String row(Level l) {
    return String.format(Locale.ROOT, "concurrency %3d: %8.1f req/s, p50 %7.1f ms, p99 %7.1f ms, %d errors",
        l.concurrency(), l.throughput(), l.p50Millis(), l.p99Millis(), l.errors());
  }

  private static void print(PrintStream out, ServeConfig serve, int torchThreads, int cores, List<Level> ours,
      List<Level> flask) {
    out.println();
    out.printf(Locale.ROOT, "textspark serve: %d inference threads x %d PyTorch threads, max_batch %d, max_wait %d ms."
        + " Flask: one request at a time, %d PyTorch threads.%n", serve.threads(), torchThreads, serve.maxBatch(),
        serve.maxWait().toMillis(), cores);
    out.println("| clients | textspark req/s | p50 ms | p99 ms | Flask req/s | p50 ms | p99 ms | throughput ratio |");
    out.println("|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (int i = 0; i < ours.size(); i++) {
      Level a = ours.get(i);
      if (i < flask.size()) {
        Level b = flask.get(i);
        out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2fx |%n", a.concurrency(),
            a.throughput(), a.p50Millis(), a.p99Millis(), b.throughput(), b.p50Millis(), b.p99Millis(),
            a.throughput() / b.throughput());
      } else {
        out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | - | - | - | - |%n", a.concurrency(), a.throughput(),
            a.p50Millis(), a.p99Millis());
      }
    }
  }
}
