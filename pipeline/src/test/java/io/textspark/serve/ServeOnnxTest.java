package io.textspark.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.config.TextSparkConfig;
import io.textspark.export.ExportJob;
import io.textspark.export.OnnxExport;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Prediction;
import io.textspark.inference.Predictor;
import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serve command on an ONNX export folder: ONNX Runtime behind the same API, the engine shown. */
class ServeOnnxTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final List<String> TEXTS = List.of("The book was written by John.", "Him book the.");

  @TempDir Path dir;

  @Test
  void servesAnExportOnOnnxRuntimeAndSaysSo() throws Exception {
    Path checkpoint = TinyModel.checkpoint(dir.resolve("run"), 11);
    Path export = dir.resolve("export");
    ExportJob.export(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        new org.apache.hadoop.fs.Path(export.toUri()), OnnxExport.Options.fp32(), new Configuration());
    Prediction[] expected;
    try (Predictor pytorch = Predictor.load(checkpoint.toString(), TextSparkConfig.withOverrides().model(),
        new InferenceSettings(32, 8, "cpu", 1), new Configuration())) {
      expected = pytorch.predict(TEXTS);
    }
    TextSparkConfig config = TextSparkConfig.load(List.of(), List.of("score.model=" + export, "score.max_length=32",
        "serve.port=0", "serve.threads=1"));
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    try (ServeJob.Running running = ServeJob.start(config, new PrintStream(printed, true, StandardCharsets.UTF_8))) {
      String out = printed.toString(StandardCharsets.UTF_8);
      assertTrue(out.contains("engine onnxruntime") && out.contains("ONNX Runtime threads"), out);
      int port = running.server().port();
      HttpResponse<String> ready = send(port, "GET", "/readyz", null);
      assertEquals(200, ready.statusCode());
      JsonObject r = JsonParser.parseString(ready.body()).getAsJsonObject();
      assertEquals("ready", r.get("status").getAsString());
      assertEquals("onnxruntime", r.get("engine").getAsString());

      JsonArray texts = new JsonArray();
      TEXTS.forEach(texts::add);
      JsonObject body = new JsonObject();
      body.add("texts", texts);
      HttpResponse<String> classified = send(port, "POST", "/v1/classify", body.toString());
      assertEquals(200, classified.statusCode(), classified.body());
      JsonArray rows = JsonParser.parseString(classified.body()).getAsJsonObject().getAsJsonArray("predictions");
      for (int i = 0; i < TEXTS.size(); i++) {
        JsonObject row = rows.get(i).getAsJsonObject();
        assertEquals(expected[i].label(), row.get("prediction").getAsString(), TEXTS.get(i));
        assertEquals(expected[i].probability(1), row.get("score").getAsDouble(), 1e-4, TEXTS.get(i));
      }
      String metrics = send(port, "GET", "/metrics", null).body();
      assertTrue(metrics.contains("engine=\"onnxruntime\""), metrics);
    }
  }

  private static HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
