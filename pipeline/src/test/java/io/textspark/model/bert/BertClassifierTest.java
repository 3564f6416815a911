package io.textspark.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.textspark.TextSparkException;
import io.textspark.model.Safetensors;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Loading, saving, memory and gradients of the classifier on a tiny random BERT. */
class BertClassifierTest {
  private static final BertConfig TINY =
      BertConfig.parse(
          "{\"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
              + " \"intermediate_size\": 16, \"vocab_size\": 30, \"max_position_embeddings\": 16}");

  private NDManager root;

  @BeforeEach
  void open() {
    root = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    root.close();
  }

  /** Random encoder weights named like a bare {@code BertModel} checkpoint (no head, no prefix). */
  private static Map<String, Safetensors.Tensor> bareCheckpoint() {
    Random random = new Random(11);
    Map<String, Safetensors.Tensor> weights = new LinkedHashMap<>();
    BertClassifier.parameterShapes(TINY)
        .forEach(
            (name, shape) -> {
              if (name.startsWith("classifier.")) {
                return;
              }
              float[] values = new float[(int) Safetensors.elementCount(shape)];
              for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.5);
              }
              weights.put(
                  name.substring("bert.".length()), Safetensors.Tensor.ofFloats(shape, values));
            });
    weights.put(
        "embeddings.position_ids", new Safetensors.Tensor("I64", new long[] {1, 0}, new byte[0]));
    weights.put(
        "cls.predictions.bias", Safetensors.Tensor.ofFloats(new long[] {1}, new float[] {1}));
    return weights;
  }

  private float[] logits(BertClassifier model, boolean training) {
    try (NDManager step = root.newSubManager()) {
      NDArray ids = step.create(new long[] {2, 5, 7, 29, 3, 2, 9, 0}, new Shape(2, 4));
      NDArray mask = step.create(new int[] {1, 1, 1, 1, 1, 1, 1, 0}, new Shape(2, 4));
      return model.logits(ids, mask, training).toFloatArray();
    }
  }

  @Test
  void missingTensorIsNamed() {
    Map<String, Safetensors.Tensor> weights = bareCheckpoint();
    weights.remove("encoder.layer.1.intermediate.dense.weight");
    TextSparkException e =
        assertThrows(TextSparkException.class, () -> BertClassifier.load(root, TINY, weights, 1));
    assertTrue(
        e.getMessage().contains("encoder.layer.1.intermediate.dense.weight"), e.getMessage());
    assertTrue(e.getMessage().contains("[16, 8]"), e.getMessage());
  }

  @Test
  void misShapedTensorNamesBothShapes() {
    Map<String, Safetensors.Tensor> weights = bareCheckpoint();
    weights.put(
        "encoder.layer.0.attention.self.key.weight",
        Safetensors.Tensor.ofFloats(new long[] {8, 4}, new float[32]));
    TextSparkException e =
        assertThrows(TextSparkException.class, () -> BertClassifier.load(root, TINY, weights, 1));
    String message = e.getMessage();
    assertTrue(message.contains("encoder.layer.0.attention.self.key.weight"), message);
    assertTrue(message.contains("[8, 4]") && message.contains("[8, 8]"), message);
  }

  @Test
  void headWithOtherLabelCountIsExplained() {
    Map<String, Safetensors.Tensor> weights = bareCheckpoint();
    weights.put("classifier.weight", Safetensors.Tensor.ofFloats(new long[] {3, 8}, new float[24]));
    weights.put("classifier.bias", Safetensors.Tensor.ofFloats(new long[] {3}, new float[3]));
    TextSparkException e =
        assertThrows(TextSparkException.class, () -> BertClassifier.load(root, TINY, weights, 1));
    assertTrue(
        e.getMessage().contains("classifier.weight") && e.getMessage().contains("num_labels"),
        e.getMessage());
  }

  @Test
  void prefixedNamesLoadTheSame() {
    Map<String, Safetensors.Tensor> prefixed = new LinkedHashMap<>();
    bareCheckpoint().forEach((name, tensor) -> prefixed.put("bert." + name, tensor));
    try (BertClassifier bare = BertClassifier.load(root, TINY, bareCheckpoint(), 5);
        BertClassifier withPrefix = BertClassifier.load(root, TINY, prefixed, 5)) {
      assertArrayEquals(logits(bare, false), logits(withPrefix, false));
    }
  }

  @Test
  void intIdsAndLongIdsAgree() {
    try (BertClassifier model = BertClassifier.load(root, TINY, bareCheckpoint(), 5);
        NDManager step = root.newSubManager()) {
      NDArray longIds = step.create(new long[] {2, 5, 7, 29, 3, 2, 9, 0}, new Shape(2, 4));
      NDArray intIds = step.create(new int[] {2, 5, 7, 29, 3, 2, 9, 0}, new Shape(2, 4));
      assertArrayEquals(
          model.forward(longIds, null, false).toFloatArray(),
          model.forward(intIds, null, false).toFloatArray());
    }
  }

  @Test
  void freshHeadDependsOnlyOnSeed() {
    try (BertClassifier a = BertClassifier.load(root, TINY, bareCheckpoint(), 5);
        BertClassifier b = BertClassifier.load(root, TINY, bareCheckpoint(), 5);
        BertClassifier c = BertClassifier.load(root, TINY, bareCheckpoint(), 6)) {
      float[] head = a.parameters().get("classifier.weight").toFloatArray();
      assertArrayEquals(head, b.parameters().get("classifier.weight").toFloatArray());
      assertFalse(Arrays.equals(head, c.parameters().get("classifier.weight").toFloatArray()));
      assertArrayEquals(new float[2], a.parameters().get("classifier.bias").toFloatArray());
    }
  }

  @Test
  void saveThenReloadGivesIdenticalLogits() {
    try (BertClassifier model = BertClassifier.load(root, TINY, bareCheckpoint(), 3)) {
      // Saving must also work mid-training, when parameters track gradients.
      model.setRequiresGradient(true);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      model.save(out, Map.of("step", "0"));
      Map<String, Safetensors.Tensor> saved =
          Safetensors.read(new ByteArrayInputStream(out.toByteArray()));
      assertEquals(BertClassifier.parameterShapes(TINY).keySet(), saved.keySet());
      // A different seed proves the head comes from the checkpoint, not from fresh init.
      try (BertClassifier reloaded = BertClassifier.load(root, TINY, saved, 99)) {
        assertArrayEquals(logits(model, false), logits(reloaded, false));
        assertEquals(
            List.copyOf(model.parameters().keySet()), List.copyOf(reloaded.parameters().keySet()));
      }
    }
  }

  @Test
  void repeatedForwardsDoNotAccumulateArrays() {
    try (BertClassifier model = BertClassifier.load(root, TINY, bareCheckpoint(), 3)) {
      NDManager parameterManager = model.parameters().values().iterator().next().getManager();
      int parameterArrays = parameterManager.getManagedArrays().size();
      int rootArrays = root.getManagedArrays().size();
      for (int i = 0; i < 200; i++) {
        logits(model, i % 2 == 0);
      }
      assertEquals(parameterArrays, parameterManager.getManagedArrays().size());
      assertEquals(rootArrays, root.getManagedArrays().size());
    }
  }

  @Test
  void gradientsReachEveryParameterAndDropoutIsSeeded() {
    try (BertClassifier model = BertClassifier.load(root, TINY, bareCheckpoint(), 3)) {
      model.setRequiresGradient(true);
      Engine.getInstance().setRandomSeed(42);
      float[] first = logits(model, true);
      Engine.getInstance().setRandomSeed(42);
      assertArrayEquals(first, logits(model, true), "same seed, same dropout");
      try (NDManager step = root.newSubManager();
          GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        NDArray ids = step.create(new long[] {2, 5, 7, 29, 3, 2, 9, 0}, new Shape(2, 4));
        NDArray mask = step.create(new long[] {1, 1, 1, 1, 1, 1, 1, 0}, new Shape(2, 4));
        NDArray logits = model.logits(ids, mask, true);
        NDArray loss = logits.logSoftmax(1).get(":, 0").neg().mean();
        collector.backward(loss);
        NDManager parameterManager = model.parameters().values().iterator().next().getManager();
        int parameterArrays = parameterManager.getManagedArrays().size();
        Map<String, NDArray> gradients = model.gradients(step);
        assertEquals(model.parameters().keySet(), gradients.keySet());
        for (Map.Entry<String, NDArray> e : gradients.entrySet()) {
          float norm = e.getValue().abs().sum().getFloat();
          assertTrue(Float.isFinite(norm) && norm > 0, e.getKey() + " gradient norm " + norm);
        }
        model.zeroGradients();
        for (Map.Entry<String, NDArray> e : model.gradients(step).entrySet()) {
          assertEquals(
              0f, e.getValue().abs().sum().getFloat(), e.getKey() + " after zeroGradients");
        }
        assertEquals(parameterArrays, parameterManager.getManagedArrays().size());
      }
    }
  }
}
