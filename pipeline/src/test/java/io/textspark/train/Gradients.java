package io.textspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Collection;

/** Resets parameters' accumulated gradients between optimizer steps in the optimizer tests. */
final class Gradients {
  private Gradients() {}

  /**
   * Sets the gradient of every parameter to zero in place; needed after each step because
   * PyTorch adds each backward pass to the existing gradient and DJL's {@code GradientCollector}
   * does not clear it.
   */
  static void zero(Collection<NDArray> params) {
    for (NDArray param : params) {
      if (!param.hasGradient()) {
        continue;
      }
      if (param instanceof PtNDArray) {
        // zero_() rather than g - g or g * 0, which would keep a NaN or infinite gradient.
        JniUtils.zeroGrad((PtNDArray) param);
      } else {
        try (NDArray grad = param.getGradient()) {
          grad.muli(0);
        }
      }
    }
  }
}
