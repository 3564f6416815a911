package io.textspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.textspark.model.bert.BertClassifier;
import io.textspark.testing.TinyBert;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Gradients must not depend on what happens to Java memory between the forward and the backward
 * pass. DJL's {@code mul(Number)} and {@code div(Number)} hand PyTorch a scalar in a Java-owned
 * direct buffer and close it at once; autograd keeps that scalar for the backward pass, so once
 * the buffer is collected and its memory reused, gradients come out huge or NaN. The model must
 * only give autograd tensors PyTorch owns.
 */
class BackwardLifetimeTest {
  /** The sum of all gradients of one forward and backward pass, with garbage collection between them or not. */
  private static double gradientSum(boolean collectInBetween) {
    try (NDManager root = NDManager.newBaseManager()) {
      BertClassifier model = BertClassifier.load(root, TinyBert.CONFIG, TinyBert.encoderWeights(3), 7);
      model.setRequiresGradient(true);
      boolean gradMode = JniUtils.isGradMode();
      JniUtils.setGradMode(true);
      try (NDManager step = root.newSubManager()) {
        NDArray ids = step.create(new long[] {101, 2023, 2003, 1037, 6251, 102, 101, 7592, 102, 0, 0, 0},
            new ai.djl.ndarray.types.Shape(2, 6));
        NDArray mask = step.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
            new ai.djl.ndarray.types.Shape(2, 6));
        NDArray loss = model.logits(ids, mask, false).sum();
        if (collectInBetween) {
          scribbleOverFreedDirectMemory();
        }
        JniUtils.backward((PtNDArray) loss, (PtNDArray) step.ones(loss.getShape(), loss.getDataType()), false,
            false);
        double sum = 0;
        for (Map.Entry<String, NDArray> g : model.gradients(step).entrySet()) {
          for (float v : g.getValue().toFloatArray()) {
            sum += v;
          }
        }
        return sum;
      } finally {
        JniUtils.setGradMode(gradMode);
        model.zeroGradients();
      }
    }
  }

  /** Lets the collector free unreachable direct buffers, then fills freshly allocated ones with 1e30. */
  private static void scribbleOverFreedDirectMemory() {
    List<ByteBuffer> keep = new ArrayList<>();
    for (int round = 0; round < 5; round++) {
      System.gc();
      try {
        Thread.sleep(20); // the Cleaner frees direct memory on its own thread
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (int i = 0; i < 2000; i++) {
        ByteBuffer b = ByteBuffer.allocateDirect(4 + (i % 4) * 4).order(ByteOrder.nativeOrder());
        while (b.remaining() >= 4) {
          b.putFloat(1e30f);
        }
        keep.add(b);
      }
    }
  }

  @Test
  void gradientsAreTheSameWhateverTheCollectorDoesBetweenForwardAndBackward() {
    double clean = gradientSum(false);
    double scribbled = gradientSum(true);
    assertEquals(clean, scribbled, 1e-9 * Math.max(1, Math.abs(clean)), "garbage collection changed gradients");
  }
}
