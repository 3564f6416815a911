package io.textspark.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.Collection;

/**
 * Clips gradients by their global L2 norm with the semantics of PyTorch's {@code
 * torch.nn.utils.clip_grad_norm_}.
 */
public final class GradientClipping {
  /** Added to the norm before dividing, as in PyTorch, so that a zero norm does not divide by 0. */
  public static final double EPSILON = 1e-6;

  private GradientClipping() {}

  /** L2 norm of all the gradients taken together as one vector. */
  public static double globalNorm(Collection<NDArray> grads) {
    double sumOfSquares = 0;
    for (NDArray grad : grads) {
      // Each tensor's norm is reduced natively; only the few per-tensor norms are summed in double.
      try (NDArray norm = grad.norm();
          NDArray wide = norm.toType(DataType.FLOAT64, true)) {
        double n = wide.getDouble();
        sumOfSquares += n * n;
      }
    }
    return Math.sqrt(sumOfSquares);
  }

  /**
   * Scales every gradient in place by {@code maxNorm / (norm + 1e-6)} when that factor is below 1
   * and returns the norm before clipping; when the norm is NaN or infinite the gradients are left
   * alone so that the caller can see the returned value and skip the step.
   */
  public static double clip(Collection<NDArray> grads, double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("maxNorm must be positive but is " + maxNorm);
    }
    double norm = globalNorm(grads);
    if (!Double.isFinite(norm)) {
      return norm;
    }
    double coefficient = maxNorm / (norm + EPSILON);
    if (coefficient < 1) {
      for (NDArray grad : grads) {
        grad.muli(coefficient);
      }
    }
    return norm;
  }
}
