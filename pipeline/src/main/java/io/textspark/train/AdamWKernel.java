package io.textspark.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One AdamW update of a whole float32 tensor in a single pass over its memory: each element's
 * parameter, gradient and both moments are read once and written back once, where the same update
 * written as tensor operations makes about a dozen passes over 90 MB (MiniLM) and allocates four
 * temporaries per parameter. The buffers are the tensors' own memory (direct buffers over
 * PyTorch's storage), so the update is in place.
 *
 * <p>The arithmetic is PyTorch's single-tensor AdamW in float32, in its order of operations:
 *
 * <pre>
 *   g = grad * gradScale                                  (gradient clipping's factor)
 *   p = p * decay                                         (decay = 1 - lr * weightDecay, or 1)
 *   m = m + (1 - beta1) * (g - m)                          (lerp)
 *   v = v * beta2 + (1 - beta2) * g * g                    (addcmul)
 *   p = p - stepSize * (m / (sqrt(v) / sqrt(1 - beta2^t) + eps))   (addcdiv)
 * </pre>
 *
 * <p>With the {@code jdk.incubator.vector} module in the JVM (Spark 4's launcher adds it to every
 * driver and executor, and so does textspark's) the loop runs on SIMD registers; otherwise a
 * scalar loop computes exactly the same values, about three times slower.
 */
final class AdamWKernel {
  /** Whether the SIMD loop is available in this JVM. */
  static final boolean VECTORIZED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  /** The per-step constants of one update. */
  record Coefficients(float gradScale, float decay, float beta1, float beta2, float stepSize,
      float biasCorrection2Sqrt, float eps) {}

  private AdamWKernel() {}

  /**
   * Updates param, m and v in place from grad; all four are native-order views of float32
   * tensors with the same number of elements.
   */
  static void update(ByteBuffer param, ByteBuffer grad, ByteBuffer m, ByteBuffer v, Coefficients c,
      boolean vectorized) {
    int n = param.capacity() / Float.BYTES;
    if (grad.capacity() != param.capacity() || m.capacity() != param.capacity() || v.capacity() != param.capacity()) {
      throw new IllegalArgumentException("AdamW kernel buffers differ in size: param " + param.capacity()
          + ", grad " + grad.capacity() + ", moments " + m.capacity() + " and " + v.capacity() + " bytes");
    }
    int done = vectorized ? AdamWVectorKernel.update(param, grad, m, v, c, n) : 0;
    scalar(floats(param), floats(grad), floats(m), floats(v), c, done, n);
  }

  /** The scalar loop over elements [from, to). */
  static void scalar(FloatBuffer p, FloatBuffer g, FloatBuffer m, FloatBuffer v, Coefficients c, int from, int to) {
    float oneMinusBeta1 = 1 - c.beta1();
    float oneMinusBeta2 = 1 - c.beta2();
    for (int i = from; i < to; i++) {
      float gi = g.get(i) * c.gradScale();
      float pi = p.get(i) * c.decay();
      float mi = m.get(i);
      mi = mi + oneMinusBeta1 * (gi - mi);
      float vi = v.get(i) * c.beta2() + oneMinusBeta2 * gi * gi;
      float denom = (float) Math.sqrt(vi) / c.biasCorrection2Sqrt() + c.eps();
      m.put(i, mi);
      v.put(i, vi);
      p.put(i, pi - c.stepSize() * (mi / denom));
    }
  }

  private static FloatBuffer floats(ByteBuffer bytes) {
    return bytes.duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }
}
