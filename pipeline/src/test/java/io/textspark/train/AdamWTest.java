package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.textspark.TextSparkException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class AdamWTest {
  private static final double[] P0 = {0.5, -1.0, 2.0};
  private static final double[][] GRADS = {{0.1, -0.2, 0.3}, {-0.05, 0.4, 0.0}, {1.0, -1.0, 0.5}};
  private static final double[] LRS = {1e-2, 2e-2, 5e-3};

  /** The textbook AdamW recurrence in double precision, written out independently of AdamW. */
  private static double[] reference(double wd, double b1, double b2, double eps, int steps) {
    double[] p = P0.clone();
    double[] m = new double[p.length];
    double[] v = new double[p.length];
    for (int t = 1; t <= steps; t++) {
      double lr = LRS[t - 1];
      for (int i = 0; i < p.length; i++) {
        double g = GRADS[t - 1][i];
        p[i] -= lr * wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        double mHat = m[i] / (1 - Math.pow(b1, t));
        p[i] -= lr * mHat / (Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps);
      }
    }
    return p;
  }

  private static float[] floats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  private static void assertClose(double[] expected, float[] actual) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-6 + 1e-6 * Math.abs(expected[i]), "element " + i);
    }
  }

  private static double[] runOptimizer(String name, double wd, double b1, double b2, double eps) {
    try (NDManager manager = NDManager.newBaseManager();
        AdamW adamW = new AdamW(manager, b1, b2, eps, wd)) {
      NDArray param = manager.create(floats(P0));
      param.setRequiresGradient(true);
      for (int t = 0; t < LRS.length; t++) {
        try (NDArray grad = manager.create(floats(GRADS[t]))) {
          adamW.step(Map.of(name, param), Map.of(name, grad), LRS[t]);
        }
      }
      assertEquals(LRS.length, adamW.stepCount());
      float[] out = param.toFloatArray();
      double[] result = new double[out.length];
      for (int i = 0; i < out.length; i++) {
        result[i] = out[i];
      }
      return result;
    }
  }

  @Test
  void matchesHandComputedUpdatesWithDefaults() {
    double[] actual = runOptimizer("classifier.weight", 0.01, 0.9, 0.999, 1e-8);
    assertClose(reference(0.01, 0.9, 0.999, 1e-8, 3), floats(actual));
  }

  @Test
  void addsEpsAfterTheBiasCorrectedSquareRoot() {
    // A large eps separates PyTorch's placement from TensorFlow's, which adds eps to sqrt(v)
    // before the bias correction is folded into the step size.
    double[] actual = runOptimizer("w.weight", 0.0, 0.8, 0.95, 0.1);
    assertClose(reference(0.0, 0.8, 0.95, 0.1, 3), floats(actual));
    double lr = LRS[0];
    double g = GRADS[0][0];
    double m = 0.2 * g;
    double v = 0.05 * g * g;
    double tensorFlowStyle = P0[0] - lr * Math.sqrt(0.05) / 0.2 * m / (Math.sqrt(v) + 0.1);
    double pyTorchStyle = P0[0] - lr * (m / 0.2) / (Math.sqrt(v) / Math.sqrt(0.05) + 0.1);
    assertTrue(Math.abs(tensorFlowStyle - pyTorchStyle) > 1e-3);
    try (NDManager manager = NDManager.newBaseManager();
        AdamW adamW = new AdamW(manager, 0.8, 0.95, 0.1, 0.0)) {
      NDArray param = manager.create(floats(P0));
      try (NDArray grad = manager.create(floats(GRADS[0]))) {
        adamW.step(Map.of("w.weight", param), Map.of("w.weight", grad), lr);
      }
      assertEquals(pyTorchStyle, param.toFloatArray()[0], 1e-6);
    }
  }

  @Test
  void doesNotDecayBiasesOrLayerNormWeights() {
    for (String name :
        List.of("classifier.bias", "bert.embeddings.LayerNorm.weight",
            "bert.encoder.layer.0.output.LayerNorm.bias")) {
      double[] actual = runOptimizer(name, 0.5, 0.9, 0.999, 1e-8);
      assertClose(reference(0.0, 0.9, 0.999, 1e-8, 3), floats(actual));
    }
    double[] decayed = runOptimizer("bert.encoder.layer.0.attention.self.query.weight", 0.5, 0.9,
        0.999, 1e-8);
    assertClose(reference(0.5, 0.9, 0.999, 1e-8, 3), floats(decayed));
  }

  /** Parameter, gradients and moments of 1000 elements, enough for every SIMD width plus a tail. */
  private static float[][] largeCase(long seed) {
    java.util.Random random = new java.util.Random(seed);
    float[][] data = new float[1 + LRS.length][1003];
    for (float[] row : data) {
      for (int i = 0; i < row.length; i++) {
        row[i] = (float) random.nextGaussian();
      }
    }
    return data;
  }

  private static float[] runLarge(AdamW.Kernel kernel, float[][] data, double gradScale) {
    try (NDManager manager = NDManager.newBaseManager();
        AdamW adamW = new AdamW(manager, 0.9, 0.999, 1e-8, 0.01, kernel)) {
      NDArray param = manager.create(data[0]);
      param.setRequiresGradient(true);
      for (int t = 0; t < LRS.length; t++) {
        try (NDArray grad = manager.create(data[t + 1])) {
          adamW.step(Map.of("w.weight", param), Map.of("w.weight", grad), LRS[t], gradScale);
          assertArrayEquals(data[t + 1], grad.toFloatArray(), "the gradient itself is left unscaled");
        }
      }
      return param.toFloatArray();
    }
  }

  @Test
  void everyKernelMatchesTheReferenceOnTensorsLongerThanAVector() {
    float[][] data = largeCase(7);
    double scale = 0.37;
    double[] expected = new double[data[0].length];
    double[] m = new double[expected.length];
    double[] v = new double[expected.length];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = data[0][i];
    }
    for (int t = 1; t <= LRS.length; t++) {
      for (int i = 0; i < expected.length; i++) {
        double g = data[t][i] * scale;
        expected[i] -= LRS[t - 1] * 0.01 * expected[i];
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        expected[i] -= LRS[t - 1] / (1 - Math.pow(0.9, t)) * m[i]
            / (Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(0.999, t)) + 1e-8);
      }
    }
    float[] vector = runLarge(AdamW.Kernel.VECTOR, data, scale);
    float[] scalar = runLarge(AdamW.Kernel.SCALAR, data, scale);
    float[] tensorOps = runLarge(AdamW.Kernel.TENSOR_OPS, data, scale);
    assertClose(expected, vector);
    assertClose(expected, tensorOps);
    // The SIMD and the scalar loop do the same float operations in the same order.
    assertArrayEquals(scalar, vector);
  }

  @Test
  void gradientScaleEqualsScalingTheGradientsFirst() {
    float[][] data = largeCase(11);
    float[][] scaled = new float[data.length][];
    scaled[0] = data[0];
    for (int t = 1; t < data.length; t++) {
      scaled[t] = new float[data[t].length];
      for (int i = 0; i < data[t].length; i++) {
        scaled[t][i] = data[t][i] * 0.25f;
      }
    }
    assertArrayEquals(runLarge(AdamW.Kernel.VECTOR, scaled, 1.0), runLarge(AdamW.Kernel.VECTOR, data, 0.25));
  }

  @Test
  void theSimdLoopIsAvailableUnderSparksJvmFlags() {
    // Surefire starts the test JVM with Spark's launcher flags, as every driver and executor gets them.
    assertTrue(AdamWKernel.VECTORIZED, "jdk.incubator.vector is missing from the JVM");
  }

  @Test
  void decayRule() {
    assertTrue(AdamW.decays("bert.encoder.layer.0.attention.self.query.weight"));
    assertTrue(AdamW.decays("classifier.weight"));
    assertTrue(AdamW.decays("bert.embeddings.word_embeddings.weight"));
    assertFalse(AdamW.decays("classifier.bias"));
    assertFalse(AdamW.decays("bert.embeddings.LayerNorm.weight"));
    assertFalse(AdamW.decays("bert.encoder.layer.11.attention.output.LayerNorm.bias"));
    assertFalse(AdamW.decays("distilbert.transformer.layer.0.sa_layer_norm.weight"));
    assertFalse(AdamW.decays("distilbert.transformer.layer.5.output_layer_norm.weight"));
    assertFalse(AdamW.decays("deberta.encoder.LayerNorm.weight"));
    assertTrue(AdamW.decays("distilbert.transformer.layer.0.ffn.lin1.weight"));
    assertTrue(AdamW.decays("deberta.encoder.rel_embeddings.weight"));
  }

  @Test
  void stateRoundTripContinuesBitIdentically() {
    try (NDManager manager = NDManager.newBaseManager();
        AdamW original = new AdamW(manager, 0.01);
        AdamW restored = new AdamW(manager, 0.01);
        AdamW restoredFromFloats = new AdamW(manager, 0.01)) {
      Map<String, NDArray> params = new LinkedHashMap<>();
      params.put("a.weight", manager.create(new float[] {0.3f, -0.7f, 1.1f, 0.2f}).reshape(2, 2));
      params.put("a.bias", manager.create(new float[] {0.05f, -0.02f}));
      for (int t = 0; t < 3; t++) {
        try (NDManager step = manager.newSubManager()) {
          original.step(params, gradients(step, params, t), 1e-2);
        }
      }
      Map<String, NDArray> saved = original.state();
      assertEquals(List.of("exp_avg.a.weight", "exp_avg_sq.a.weight", "exp_avg.a.bias",
          "exp_avg_sq.a.bias"), List.copyOf(saved.keySet()));
      restored.load(saved, original.stepCount());
      Map<String, float[]> flat = new LinkedHashMap<>();
      saved.forEach((k, v) -> flat.put(k, v.toFloatArray()));
      Map<String, NDArray> copyA = copy(manager, params);
      Map<String, NDArray> copyB = copy(manager, params);
      restoredFromFloats.loadFloats(flat, copyB, original.stepCount());
      assertEquals(3, restored.stepCount());
      for (int t = 3; t < 6; t++) {
        try (NDManager step = manager.newSubManager()) {
          original.step(params, gradients(step, params, t), 7e-3);
          restored.step(copyA, gradients(step, copyA, t), 7e-3);
          restoredFromFloats.step(copyB, gradients(step, copyB, t), 7e-3);
        }
        for (String name : params.keySet()) {
          assertArrayEquals(params.get(name).toFloatArray(), copyA.get(name).toFloatArray());
          assertArrayEquals(params.get(name).toFloatArray(), copyB.get(name).toFloatArray());
        }
      }
    }
  }

  @Test
  void rejectsStateOfADifferentModel() {
    try (NDManager manager = NDManager.newBaseManager();
        AdamW adamW = new AdamW(manager, 0.01)) {
      Map<String, NDArray> params = Map.of("w.weight", manager.zeros(new Shape(3)));
      assertThrows(TextSparkException.class,
          () -> adamW.loadFloats(Map.of("exp_avg.other", new float[3], "exp_avg_sq.other",
              new float[3]), params, 1));
      assertThrows(TextSparkException.class,
          () -> adamW.loadFloats(Map.of("exp_avg.w.weight", new float[2], "exp_avg_sq.w.weight",
              new float[2]), params, 1));
      adamW.loadFloats(Map.of("exp_avg.v.weight", new float[3], "exp_avg_sq.v.weight",
          new float[3]), Map.of("v.weight", params.get("w.weight")), 1);
      try (NDArray grad = manager.zeros(new Shape(3))) {
        assertThrows(TextSparkException.class,
            () -> adamW.step(params, Map.of("w.weight", grad), 1e-3));
      }
      assertThrows(TextSparkException.class,
          () -> adamW.load(Map.of("exp_avg.w.weight", manager.zeros(
              new Shape(3))), 1));
    }
  }

  @Test
  void stepAllocatesNoLastingArrays() {
    try (NDManager manager = NDManager.newBaseManager();
        AdamW adamW = new AdamW(manager, 0.01)) {
      NDArray param = manager.create(new float[] {1, 2, 3});
      NDArray grad = manager.create(new float[] {0.1f, 0.2f, 0.3f});
      adamW.step(Map.of("w", param), Map.of("w", grad), 1e-3);
      int before = manager.getManagedArrays().size();
      for (int i = 0; i < 5; i++) {
        adamW.step(Map.of("w", param), Map.of("w", grad), 1e-3);
      }
      assertEquals(before, manager.getManagedArrays().size());
    }
  }

  /**
   * Grad mode is per thread in PyTorch and on by default; DJL switches it off only on the thread
   * that loaded the engine. The update must work with grad mode on and leave autograd intact.
   */
  @Test
  void updatesInPlaceWithoutAutogradOnAnyThread() throws Exception {
    try (NDManager manager = NDManager.newBaseManager();
        AdamW adamW = new AdamW(manager, 0.0)) {
      NDArray w = manager.create(new float[] {1, 2, 3});
      w.setRequiresGradient(true);
      backwardOfSumOfSquares(w);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      AtomicReference<Throwable> directFailure = new AtomicReference<>();
      Thread worker = new Thread(() -> {
        try {
          try (NDArray grad = w.getGradient()) {
            adamW.step(Map.of("w", w), Map.of("w", grad), 0.1);
          }
          try {
            w.subi(0f);
          } catch (RuntimeException e) {
            directFailure.set(e);
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      });
      worker.start();
      worker.join();
      assertNull(failure.get());
      assertTrue(directFailure.get() != null,
          "an in-place op on the parameter itself fails where grad mode is on");
      // The second update runs while a collector is open, that is with grad mode on.
      GradientCollector open = Engine.getInstance().newGradientCollector();
      try (NDArray grad = w.getGradient()) {
        adamW.step(Map.of("w", w), Map.of("w", grad), 0.1);
      } finally {
        open.close();
      }
      assertTrue(w.hasGradient());
      // The first Adam step moves every coordinate by lr against the sign of its gradient; the
      // second also moves by lr because the gradient's sign and relative size did not change.
      float[] now = w.toFloatArray();
      assertArrayEquals(new float[] {0.8f, 1.8f, 2.8f}, now, 1e-5f);
      Gradients.zero(List.of(w));
      backwardOfSumOfSquares(w);
      try (NDArray grad = w.getGradient()) {
        assertArrayEquals(new float[] {2 * now[0], 2 * now[1], 2 * now[2]}, grad.toFloatArray());
      }
    }
  }

  @Test
  void zeroClearsNonFiniteGradients() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray w = manager.create(new float[] {-1, 4});
      w.setRequiresGradient(true);
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        collector.backward(w.sqrt().sum());
      }
      try (NDArray grad = w.getGradient()) {
        assertTrue(Float.isNaN(grad.toFloatArray()[0]));
        assertEquals(0.25f, grad.toFloatArray()[1], 1e-7f);
      }
      Gradients.zero(List.of(w));
      try (NDArray grad = w.getGradient()) {
        assertArrayEquals(new float[] {0, 0}, grad.toFloatArray());
      }
    }
  }

  private static void backwardOfSumOfSquares(NDArray w) {
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      collector.backward(w.mul(w).sum());
    }
  }

  private static Map<String, NDArray> gradients(NDManager m, Map<String, NDArray> params, int t) {
    Map<String, NDArray> grads = new LinkedHashMap<>();
    params.forEach((name, p) -> {
      float[] values = new float[(int) p.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) Math.sin(1.7 * t + 0.9 * i + name.length());
      }
      grads.put(name, m.create(values, p.getShape()));
    });
    return grads;
  }

  private static Map<String, NDArray> copy(NDManager manager, Map<String, NDArray> params) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    params.forEach((k, v) -> out.put(k, manager.create(v.toFloatArray(), v.getShape())));
    return out;
  }
}
