package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

class GradientClippingTest {
  @Test
  void scalesToMaxNormAndReturnsThePreClipNorm() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray a = manager.create(new float[] {3, 4, 0, 0}).reshape(2, 2);
      NDArray b = manager.create(new float[] {12});
      // sqrt(3^2 + 4^2 + 12^2) = 13.
      double norm = GradientClipping.clip(List.of(a, b), 1.0);
      assertEquals(13.0, norm, 1e-6);
      double scale = 1.0 / (13.0 + 1e-6);
      assertArrayEquals(new float[] {(float) (3 * scale), (float) (4 * scale), 0, 0},
          a.toFloatArray(), 1e-7f);
      assertArrayEquals(new float[] {(float) (12 * scale)}, b.toFloatArray(), 1e-7f);
      assertEquals(1.0, GradientClipping.globalNorm(List.of(a, b)), 1e-6);
    }
  }

  @Test
  void clipsTheGradientsStoredOnParameters() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray w = manager.create(new float[] {1.5f, 2f});
      w.setRequiresGradient(true);
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        collector.backward(w.mul(w).sum());
      }
      // The gradient is 2w = (3, 4), norm 5; a handle from getGradient() shares its storage.
      try (NDArray grad = w.getGradient()) {
        assertEquals(5.0, GradientClipping.clip(List.of(grad), 2.5), 1e-6);
      }
      double scale = 2.5 / (5.0 + 1e-6);
      try (NDArray grad = w.getGradient()) {
        assertArrayEquals(new float[] {(float) (3 * scale), (float) (4 * scale)},
            grad.toFloatArray(), 1e-6f);
      }
    }
  }

  @Test
  void leavesSmallGradientsAlone() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray a = manager.create(new float[] {0.6f, -0.8f});
      assertEquals(1.0, GradientClipping.clip(List.of(a), 1.5), 1e-6);
      assertArrayEquals(new float[] {0.6f, -0.8f}, a.toFloatArray());
    }
  }

  @Test
  void reportsNonFiniteNormWithoutTouchingGradients() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray a = manager.create(new float[] {Float.NaN, 1});
      NDArray b = manager.create(new float[] {5});
      assertTrue(Double.isNaN(GradientClipping.clip(List.of(a, b), 1.0)));
      assertArrayEquals(new float[] {5}, b.toFloatArray());
    }
  }

  @Test
  void coefficientClipsOnlyAboveMaxNormAndNeverWhenDisabled() {
    assertEquals(1.0 / (13.0 + 1e-6), GradientClipping.coefficient(13.0, 1.0), 1e-15);
    assertEquals(1.0, GradientClipping.coefficient(0.5, 1.0));
    assertEquals(1.0, GradientClipping.coefficient(1e9, 0.0));
    assertEquals(1.0, GradientClipping.coefficient(1e9, -1.0));
  }
}
