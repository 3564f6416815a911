package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.testing.TinyModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jobs/bin/textspark serve} as a separate process: its start, and its stop on SIGTERM. */
class ServeLauncherIT {
  private static final Pattern LISTENING = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+),");
  private static final String LONG = String.join(" ", Collections.nCopies(40, "the students sent the books"));

  @TempDir Path tmp;

  private Process launch(Path log, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("bin", "textspark").toAbsolutePath().toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true);
    pb.environment().remove("SPARK_HOME");
    pb.environment().remove("TEXTSPARK_API_KEYS");
    pb.environment().put("TEXTSPARK_DRIVER_MEMORY", "1g");
    pb.redirectOutput(log.toFile());
    return pb.start();
  }

  private static String read(Path log) throws Exception {
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  private static double metric(HttpClient http, int port, String series) throws Exception {
    String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(body);
    return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
  }

  @Test
  void sigtermAnswersEveryRequestInFlightThenExitsZero() throws Exception {
    Path checkpoint = TinyModel.checkpoint(tmp.resolve("run"), 11);
    Path log = tmp.resolve("serve.log");
    Process server = launch(log, "serve", "--model", checkpoint.toString(), "--port", "0", "serve.threads=1",
        "serve.max_batch=64", "serve.max_queue=8192", "score.threads=1");
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (!read(log).contains("serve: ready") && server.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      String started = read(log);
      assertTrue(started.contains("serve: ready"), started);
      Matcher m = LISTENING.matcher(started);
      assertTrue(m.find(), started);
      int port = Integer.parseInt(m.group(1));

      HttpClient http = HttpClient.newHttpClient();
      JsonArray texts = new JsonArray();
      for (int i = 0; i < 64; i++) {
        texts.add(i % 2 == 0 ? LONG : "Books were sent to the students.");
      }
      JsonObject body = new JsonObject();
      body.add("texts", texts);
      List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
      for (int i = 0; i < 48; i++) {
        inFlight.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/classify"))
            .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString()));
      }
      // SIGTERM only once the server holds queued requests, so that some are surely in flight.
      while (metric(http, port, "textspark_queue_texts") < 64 * 4 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertTrue(metric(http, port, "textspark_queue_texts") >= 64 * 4 || allDone(inFlight),
          "requests queued at SIGTERM");
      server.destroy();
      assertTrue(server.waitFor(2, TimeUnit.MINUTES), read(log));
      assertEquals(0, server.exitValue(), read(log));
      int answered = 0;
      for (CompletableFuture<HttpResponse<String>> f : inFlight) {
        HttpResponse<String> r = f.get(1, TimeUnit.MINUTES);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(64, JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonArray("predictions").size());
        answered++;
      }
      assertEquals(48, answered);
      String output = read(log);
      assertTrue(output.contains("serve: stopping") && output.contains("serve: stopped"), output);
    } finally {
      server.destroyForcibly();
    }
  }

  private static boolean allDone(List<CompletableFuture<HttpResponse<String>>> futures) {
    return futures.stream().allMatch(CompletableFuture::isDone);
  }

  @Test
  void aModelThatCannotBeLoadedExitsNonZeroBeforeListening() throws Exception {
    Path log = tmp.resolve("bad.log");
    Process server = launch(log, "serve", "--model", tmp.resolve("no-such-checkpoint").toString(), "--port", "0");
    assertTrue(server.waitFor(2, TimeUnit.MINUTES), read(log));
    String output = read(log);
    assertEquals(1, server.exitValue(), output);
    assertTrue(output.contains("error: "), output);
    assertTrue(output.contains("no-such-checkpoint"), output);
    assertFalse(output.contains("http://"), "no port was opened: " + output);
  }
}
