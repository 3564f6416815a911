package io.textspark.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD loop of {@link AdamWKernel}. Only loaded when the {@code jdk.incubator.vector} module
 * is in the JVM, so that a JVM without it never links against the incubator classes.
 */
final class AdamWVectorKernel {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

  private AdamWVectorKernel() {}

  /** Updates the first elements, a whole number of vectors; returns how many it updated. */
  static int update(ByteBuffer param, ByteBuffer grad, ByteBuffer m, ByteBuffer v, AdamWKernel.Coefficients c,
      int n) {
    ByteOrder order = ByteOrder.nativeOrder();
    int lanes = SPECIES.length();
    int end = n - n % lanes;
    float oneMinusBeta1 = 1 - c.beta1();
    float oneMinusBeta2 = 1 - c.beta2();
    for (int i = 0; i < end; i += lanes) {
      int offset = i * Float.BYTES;
      FloatVector g = FloatVector.fromByteBuffer(SPECIES, grad, offset, order).mul(c.gradScale());
      FloatVector p = FloatVector.fromByteBuffer(SPECIES, param, offset, order).mul(c.decay());
      FloatVector mi = FloatVector.fromByteBuffer(SPECIES, m, offset, order);
      mi = mi.add(g.sub(mi).mul(oneMinusBeta1));
      FloatVector vi = FloatVector.fromByteBuffer(SPECIES, v, offset, order).mul(c.beta2())
          .add(g.mul(oneMinusBeta2).mul(g));
      FloatVector denom = vi.sqrt().div(c.biasCorrection2Sqrt()).add(c.eps());
      mi.intoByteBuffer(m, offset, order);
      vi.intoByteBuffer(v, offset, order);
      p.sub(mi.div(denom).mul(c.stepSize())).intoByteBuffer(param, offset, order);
    }
    return end;
  }
}
