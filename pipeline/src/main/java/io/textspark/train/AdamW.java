package io.textspark.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.textspark.TextSparkException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with the arithmetic of PyTorch's {@code torch.optim.AdamW}, whose state (step count and
 * both moment estimates, keyed by parameter name) can be exported to a checkpoint and loaded back.
 *
 * <p>One update of parameter {@code p} with gradient {@code g} at step {@code t} (counting from 1):
 *
 * <pre>
 *   p     = p * (1 - lr * weightDecay)          only if decays(name)
 *   m     = m + (1 - beta1) * (g - m)
 *   v     = v * beta2 + (1 - beta2) * g * g
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 *   p     = p - lr / (1 - beta1^t) * m / denom
 * </pre>
 *
 * <p>On the CPU each parameter is updated by {@link AdamWKernel} in one pass over the memory of the
 * parameter, its gradient and both moments. On a GPU the update is tensor operations, and
 * parameters are updated in place through {@link NDArray#stopGradient()}, a view that shares
 * storage with the parameter but is outside autograd. Updating the parameter itself is not safe:
 * PyTorch's grad mode is per thread and on by default, DJL turns it off only on the thread that
 * loaded the engine and inside no {@code GradientCollector}, and with grad mode on an in-place
 * operation on a leaf that requires a gradient throws "a leaf Variable that requires grad is being
 * used in an in-place operation". Through the detached view the update works on any thread, even
 * while a collector is open, and the parameter keeps requiring a gradient.
 *
 * <p>Unlike PyTorch, which skips a parameter whose gradient is missing, every parameter must have a
 * gradient at every step, so that one step count describes the whole state.
 */
public final class AdamW implements AutoCloseable {
  /** PyTorch's default decay rate of the first moment. */
  public static final double DEFAULT_BETA1 = 0.9;
  /** PyTorch's default decay rate of the second moment. */
  public static final double DEFAULT_BETA2 = 0.999;
  /** PyTorch's default term added to the denominator. */
  public static final double DEFAULT_EPS = 1e-8;
  /** Prefix of the first-moment entries in {@link #state()}. */
  public static final String EXP_AVG = "exp_avg.";
  /** Prefix of the second-moment entries in {@link #state()}. */
  public static final String EXP_AVG_SQ = "exp_avg_sq.";

  private final NDManager manager;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
  private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
  private final Kernel kernel;
  private long step;

  /** How an update is computed: the fused loop with or without SIMD, or tensor operations. */
  enum Kernel {
    VECTOR,
    SCALAR,
    TENSOR_OPS
  }

  /** Creates an optimizer with PyTorch's default betas and eps, keeping its state under parent. */
  public AdamW(NDManager parent, double weightDecay) {
    this(parent, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS, weightDecay);
  }

  /** Creates an optimizer whose state lives in its own sub-manager of parent. */
  public AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay) {
    this(parent, beta1, beta2, eps, weightDecay, AdamWKernel.VECTORIZED ? Kernel.VECTOR : Kernel.SCALAR);
  }

  /** Creates an optimizer that computes updates with the given kernel (tests compare them). */
  AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay, Kernel kernel) {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
      throw new TextSparkException(
          "AdamW betas must be in [0, 1) but are "
              + beta1
              + " and "
              + beta2
              + "; set them to values such as 0.9 and 0.999.");
    }
    if (!(eps > 0) || !(weightDecay >= 0)) {
      throw new TextSparkException(
          "AdamW needs eps > 0 and weight decay >= 0 but got eps "
              + eps
              + " and weight decay "
              + weightDecay
              + "; use for example eps 1e-8 and weight decay 0.01.");
    }
    this.manager = parent.newSubManager();
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.kernel = kernel;
  }

  /**
   * Whether weight decay applies to the named parameter: not to biases and layer norm weights, as
   * in the BERT recipe, because decaying an offset or a normalisation gain toward zero does not
   * regularise the model but shifts or shrinks its activations. Layer norms are recognised by
   * name in every family's spelling: {@code LayerNorm} (BERT, RoBERTa, ELECTRA, DeBERTa) and
   * {@code layer_norm} (DistilBERT's {@code sa_layer_norm}, {@code output_layer_norm}).
   */
  public static boolean decays(String name) {
    return !name.endsWith(".bias") && !name.contains("LayerNorm") && !name.contains("layer_norm");
  }

  /** Number of steps taken, including those taken before a {@link #load} from a checkpoint. */
  public long stepCount() {
    return step;
  }

  /**
   * Updates every parameter in place from its gradient with learning rate lr, then counts one
   * step; call it after {@code backward} and gradient clipping.
   */
  public void step(Map<String, NDArray> params, Map<String, NDArray> grads, double lr) {
    step(params, grads, lr, 1.0);
  }

  /**
   * Like {@link #step(Map, Map, double)} for gradients that are to be multiplied by gradScale
   * first (gradient clipping's factor), without writing the scaled gradients anywhere: the
   * gradients are left as they are.
   */
  public void step(Map<String, NDArray> params, Map<String, NDArray> grads, double lr, double gradScale) {
    for (String name : params.keySet()) {
      if (!grads.containsKey(name)) {
        throw new IllegalArgumentException("no gradient for parameter " + name);
      }
    }
    long t = step + 1;
    double biasCorrection1 = 1 - Math.pow(beta1, t);
    double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
    double stepSize = lr / biasCorrection1;
    for (Map.Entry<String, NDArray> e : params.entrySet()) {
      String name = e.getKey();
      NDArray param = e.getValue();
      NDArray grad = grads.get(name);
      NDArray m = moment(expAvg, EXP_AVG, name, param);
      NDArray v = moment(expAvgSq, EXP_AVG_SQ, name, param);
      double decay = weightDecay != 0 && decays(name) ? 1 - lr * weightDecay : 1;
      if (kernel != Kernel.TENSOR_OPS && inHostMemory(param, grad, m, v)) {
        AdamWKernel.update(param.toByteBuffer(true), grad.toByteBuffer(true), m.toByteBuffer(true),
            v.toByteBuffer(true), new AdamWKernel.Coefficients((float) gradScale, (float) decay, (float) beta1,
                (float) beta2, (float) stepSize, (float) biasCorrection2Sqrt, (float) eps),
            kernel == Kernel.VECTOR);
      } else {
        tensorOps(param, grad, m, v, gradScale, decay, stepSize, biasCorrection2Sqrt);
      }
    }
    step = t;
  }

  /** The same update as {@link AdamWKernel} written as tensor operations, for tensors on a GPU. */
  private void tensorOps(NDArray param, NDArray grad, NDArray m, NDArray v, double gradScale, double decay,
      double stepSize, double biasCorrection2Sqrt) {
    NDArray g = gradScale == 1 ? grad : grad.mul(gradScale);
    try (NDArray p = param.stopGradient()) {
      if (decay != 1) {
        p.muli(decay);
      }
      try (NDArray diff = g.sub(m)) {
        m.addi(diff.muli(1 - beta1));
      }
      v.muli(beta2);
      try (NDArray sq = g.mul(1 - beta2)) {
        v.addi(sq.muli(g));
      }
      try (NDArray denom = v.sqrt()) {
        denom.divi(biasCorrection2Sqrt).addi(eps);
        try (NDArray update = m.div(denom)) {
          p.subi(update.muli(stepSize));
        }
      }
    } finally {
      if (g != grad) {
        g.close();
      }
    }
  }

  /**
   * Whether the fused kernel can update these tensors through their memory: dense float32
   * PyTorch tensors on the CPU. (Parameters and moments are contiguous as created, and PyTorch
   * gives a contiguous parameter a contiguous gradient.)
   */
  private static boolean inHostMemory(NDArray... arrays) {
    for (NDArray a : arrays) {
      if (!(a instanceof PtNDArray) || a.getDataType() != DataType.FLOAT32 || !a.getDevice().equals(Device.cpu())
          || a.isSparse()) {
        return false;
      }
    }
    return true;
  }

  /**
   * The state to checkpoint, {@code exp_avg.<param>} and {@code exp_avg_sq.<param>} for every
   * parameter seen so far (the step count is {@link #stepCount()}); the arrays belong to this
   * optimizer, so callers read them and must not close or modify them.
   */
  public Map<String, NDArray> state() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (String name : expAvg.keySet()) {
      out.put(EXP_AVG + name, expAvg.get(name));
      out.put(EXP_AVG_SQ + name, expAvgSq.get(name));
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * Replaces the state with copies of a checkpoint's {@link #state()} and step count, so that the
   * following updates are exactly those the saved optimizer would have made.
   */
  public void load(Map<String, NDArray> state, long stepCount) {
    Map<String, NDArray> first = new LinkedHashMap<>();
    Map<String, NDArray> second = new LinkedHashMap<>();
    split(state, first, second);
    clear();
    for (Map.Entry<String, NDArray> e : first.entrySet()) {
      expAvg.put(e.getKey(), copy(e.getValue()));
      expAvgSq.put(e.getKey(), copy(second.get(e.getKey())));
    }
    step = stepCount;
  }

  /**
   * Like {@link #load(Map, long)} for state read back as flat float arrays, taking each array's
   * shape from the parameter of the same name in params.
   */
  public void loadFloats(Map<String, float[]> state, Map<String, NDArray> params, long stepCount) {
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    try (NDManager scratch = manager.newSubManager()) {
      for (Map.Entry<String, float[]> e : state.entrySet()) {
        String key = e.getKey();
        String param = key.startsWith(EXP_AVG_SQ)
            ? key.substring(EXP_AVG_SQ.length())
            : key.startsWith(EXP_AVG) ? key.substring(EXP_AVG.length()) : null;
        if (param == null || !params.containsKey(param)) {
          throw new TextSparkException(
              "the checkpoint's optimizer state has an entry \""
                  + key
                  + "\" that matches no model parameter; resume from a checkpoint written by"
                  + " the same model, or start training afresh.");
        }
        Shape shape = params.get(param).getShape();
        if (shape.size() != e.getValue().length) {
          throw mismatch(key, shape, new Shape(e.getValue().length));
        }
        arrays.put(key, scratch.create(e.getValue(), shape));
      }
      load(arrays, stepCount);
    }
  }

  /** Frees the state. */
  @Override
  public void close() {
    manager.close();
  }

  private NDArray moment(Map<String, NDArray> moments, String prefix, String name, NDArray param) {
    NDArray moment = moments.get(name);
    if (moment == null) {
      if (step > 0) {
        // Fresh zero moments under a nonzero step count would silently get the wrong bias
        // correction, so a checkpoint that lacks a parameter is an error rather than a reset.
        throw new TextSparkException(
            "the optimizer state has no \""
                + prefix
                + name
                + "\" although "
                + step
                + " steps were taken; the checkpoint was written by a different model, so resume"
                + " from a checkpoint of this model or start training afresh.");
      }
      moment = manager.zeros(param.getShape(), param.getDataType(), param.getDevice());
      moments.put(name, moment);
    } else if (!moment.getShape().equals(param.getShape())) {
      throw mismatch(prefix + name, param.getShape(), moment.getShape());
    }
    return moment;
  }

  private static TextSparkException mismatch(String key, Shape param, Shape state) {
    return new TextSparkException(
        "the optimizer state \""
            + key
            + "\" has shape "
            + state
            + " but the parameter has shape "
            + param
            + "; the checkpoint was written by a different model, so resume from a checkpoint of"
            + " this model or start training afresh.");
  }

  private static void split(
      Map<String, NDArray> state, Map<String, NDArray> first, Map<String, NDArray> second) {
    for (Map.Entry<String, NDArray> e : state.entrySet()) {
      String key = e.getKey();
      if (key.startsWith(EXP_AVG_SQ)) {
        second.put(key.substring(EXP_AVG_SQ.length()), e.getValue());
      } else if (key.startsWith(EXP_AVG)) {
        first.put(key.substring(EXP_AVG.length()), e.getValue());
      } else {
        throw new TextSparkException(
            "the checkpoint's optimizer state has an unknown entry \""
                + key
                + "\" (expected exp_avg.<param> or exp_avg_sq.<param>); the checkpoint is not"
                + " an AdamW checkpoint of textspark, so resume from another or start afresh.");
      }
    }
    if (!first.keySet().equals(second.keySet())) {
      throw new TextSparkException(
          "the checkpoint's optimizer state has exp_avg entries for "
              + first.keySet()
              + " but exp_avg_sq entries for "
              + second.keySet()
              + "; the checkpoint is incomplete, so resume from another or start afresh.");
    }
  }

  private NDArray copy(NDArray source) {
    NDArray copy = source.duplicate();
    copy.attach(manager);
    return copy;
  }

  private void clear() {
    for (NDArray a : expAvg.values()) {
      a.close();
    }
    for (NDArray a : expAvgSq.values()) {
      a.close();
    }
    expAvg.clear();
    expAvgSq.clear();
  }
}
