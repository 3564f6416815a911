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
   * The factor clipping multiplies gradients of global norm {@code norm} by: {@code maxNorm /
   * (norm + 1e-6)} when that is below 1, else 1; always 1 when maxNorm is 0 or less (no clipping).
   */
  public static double coefficient(double norm, double maxNorm) {
    if (!(maxNorm > 0)) {
      return 1;
    }
    return Math.min(1, maxNorm / (norm + EPSILON));
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
    double coefficient = coefficient(norm, maxNorm);
    if (coefficient < 1) {
      for (NDArray grad : grads) {
        grad.muli(coefficient);
      }
    }
    return norm;
  }
}
