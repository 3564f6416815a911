package io.textspark.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.model.Safetensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Checks the encoder against ONNX Runtime hidden states of all-MiniLM-L6-v2. */
class BertReferenceTest {
  private static final double TOLERANCE = 1e-4;

  private static NDManager root;
  private static BertClassifier model;
  private static List<Reference> references;

  private record Reference(String sentence, long[] ids, float[] cls, float[] mean) {}

  @BeforeAll
  static void loadModel() throws IOException {
    Path shared = Path.of(System.getProperty("textspark.shared"));
    Path dir = shared.resolve("hf/sentence-transformers/all-MiniLM-L6-v2/resolve/main");
    BertConfig config =
        BertConfig.parse(Files.readString(dir.resolve("config.json"), StandardCharsets.UTF_8));
    Map<String, Safetensors.Tensor> weights;
    try (InputStream in = Files.newInputStream(dir.resolve("model.safetensors"))) {
      weights = Safetensors.read(in, "model.safetensors");
    }
    root = NDManager.newBaseManager();
    model = BertClassifier.load(root, config, weights, 7);
    references = new ArrayList<>();
    JsonArray items =
        JsonParser.parseString(
                Files.readString(shared.resolve("reference/all-MiniLM-L6-v2.hidden.json")))
            .getAsJsonArray();
    for (JsonElement item : items) {
      JsonObject o = item.getAsJsonObject();
      references.add(
          new Reference(
              o.get("sentence").getAsString(),
              longs(o.getAsJsonArray("input_ids")),
              floats(o.getAsJsonArray("cls_hidden")),
              floats(o.getAsJsonArray("mean_hidden"))));
    }
    assertEquals(5, references.size());
  }

  @AfterAll
  static void release() {
    model.close();
    root.close();
  }

  @Test
  void reproducesReferenceHiddenStatesOneSentenceAtATime() {
    for (Reference r : references) {
      try (NDManager step = root.newSubManager()) {
        NDArray ids = step.create(r.ids, new Shape(1, r.ids.length));
        NDArray mask = step.ones(new Shape(1, r.ids.length));
        NDArray hidden = model.forward(ids, mask, false);
        assertEquals(new Shape(1, r.ids.length, 384), hidden.getShape());
        float[] cls = hidden.get("0, 0, :").toFloatArray();
        float[] mean = hidden.get("0").mean(new int[] {0}).toFloatArray();
        assertClose(r.cls, cls, "cls_hidden of \"" + r.sentence + "\"");
        assertClose(r.mean, mean, "mean_hidden of \"" + r.sentence + "\"");
      }
    }
  }

  @Test
  void paddingDoesNotChangeResults() {
    int longest = references.stream().mapToInt(r -> r.ids.length).max().orElseThrow();
    int batch = references.size();
    long[] ids = new long[batch * longest];
    long[] mask = new long[batch * longest];
    for (int b = 0; b < batch; b++) {
      long[] sentence = references.get(b).ids;
      for (int t = 0; t < sentence.length; t++) {
        ids[b * longest + t] = sentence[t];
        mask[b * longest + t] = 1;
      }
    }
    assertTrue(references.stream().anyMatch(r -> r.ids.length < longest), "needs padded rows");
    try (NDManager step = root.newSubManager()) {
      NDArray hidden =
          model.forward(
              step.create(ids, new Shape(batch, longest)),
              step.create(mask, new Shape(batch, longest)),
              false);
      for (int b = 0; b < batch; b++) {
        Reference r = references.get(b);
        NDArray rows = hidden.get(b + ", 0:" + r.ids.length + ", :");
        assertClose(
            r.cls, rows.get("0").toFloatArray(), "padded cls_hidden of \"" + r.sentence + "\"");
        assertClose(
            r.mean,
            rows.mean(new int[] {0}).toFloatArray(),
            "padded mean_hidden of \"" + r.sentence + "\"");
      }
    }
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + " length");
    double maxError = 0;
    for (int i = 0; i < expected.length; i++) {
      maxError = Math.max(maxError, Math.abs(expected[i] - actual[i]));
    }
    System.out.printf("%s: max abs error %.3g%n", what, maxError);
    assertTrue(
        maxError <= TOLERANCE, what + ": max abs error " + maxError + " exceeds " + TOLERANCE);
  }

  private static long[] longs(JsonArray array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).getAsLong();
    }
    return out;
  }

  private static float[] floats(JsonArray array) {
    float[] out = new float[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).getAsFloat();
    }
    return out;
  }
}
