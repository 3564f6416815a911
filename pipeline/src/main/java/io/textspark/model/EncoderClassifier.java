package io.textspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.textspark.TextSparkException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * What every family's classifier shares: its parameters as named FLOAT32 arrays in a sub-manager,
 * loaded from checkpoint tensors with a fresh head drawn from a seed ({@link #loadParameters}),
 * gradients, and safetensors output. A family adds the forward pass.
 */
public abstract class EncoderClassifier implements TextClassifier {
  private final NDManager manager;
  private final Map<String, NDArray> parameters;

  /** Takes ownership of {@code manager}, which holds {@code parameters}. */
  protected EncoderClassifier(NDManager manager, Map<String, NDArray> parameters) {
    this.manager = manager;
    this.parameters = Collections.unmodifiableMap(parameters);
  }

  /**
   * How a family finds its tensors in a checkpoint.
   *
   * @param lookup the checkpoint tensor for a parameter name (trying the family's aliases), or null
   * @param alias the other name a missing tensor may have, for the error message, or null
   * @param isHead whether a parameter belongs to the head, which is made fresh when absent
   * @param initializerRange standard deviation of fresh weights
   */
  public record Source(
      Function<String, Safetensors.Tensor> lookup, Function<String, String> alias, Predicate<String> isHead,
      double initializerRange) {}

  /**
   * The parameters named by {@code shapes}, in that order, from checkpoint tensors: validated
   * before any native memory is allocated, and FLOAT32 in a new sub-manager of {@code parent}
   * (returned with them). A head parameter the checkpoint lacks is normal(0, initializer_range)
   * (weights) or zero (biases) from a per-name stream of {@code seed}.
   *
   * @throws TextSparkException naming the tensor when one is missing or has the wrong shape, or when
   *     a head module has only one of its weight and bias
   */
  public static Map.Entry<NDManager, Map<String, NDArray>> loadParameters(
      NDManager parent, Map<String, long[]> shapes, Source source, long seed) {
    Map<String, Safetensors.Tensor> found = new LinkedHashMap<>();
    List<String> fresh = new ArrayList<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      String name = e.getKey();
      Safetensors.Tensor tensor = source.lookup().apply(name);
      if (tensor == null) {
        if (source.isHead().test(name)) {
          fresh.add(name);
          continue;
        }
        String alias = source.alias().apply(name);
        throw new TextSparkException("checkpoint tensor " + name + (alias == null ? "" : " (or " + alias + ")")
            + " is missing; expected shape " + Arrays.toString(e.getValue()) + ". The checkpoint does not match"
            + " config.json: check that both come from the same model.");
      }
      if (!Arrays.equals(tensor.shape(), e.getValue())) {
        String fix = name.startsWith("classifier.")
            ? " The checkpoint's head has a different number of labels: make id2label/num_labels match it, or"
                + " remove classifier.* from the checkpoint to train a new head."
            : " The checkpoint does not match config.json: check that both come from the same model.";
        throw new TextSparkException("checkpoint tensor " + name + " has shape " + Arrays.toString(tensor.shape())
            + " but config.json implies shape " + Arrays.toString(e.getValue()) + "." + fix);
      }
      found.put(name, tensor);
    }
    checkWholeModules(fresh, shapes);
    NDManager owned = parent.newSubManager();
    try {
      Map<String, NDArray> parameters = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        String name = e.getKey();
        NDArray array = found.containsKey(name) ? found.get(name).toNDArray(owned)
            : freshParameter(owned, name, e.getValue(), source.initializerRange(), seed);
        array.setName(name);
        parameters.put(name, array);
      }
      return Map.entry(owned, parameters);
    } catch (RuntimeException e) {
      owned.close();
      throw e;
    }
  }

  /** A head module is fresh as a whole or loaded as a whole: half of one is a broken checkpoint. */
  private static void checkWholeModules(List<String> fresh, Map<String, long[]> shapes) {
    for (String name : fresh) {
      if (!name.endsWith(".weight")) {
        continue;
      }
      String module = name.substring(0, name.length() - ".weight".length());
      String bias = module + ".bias";
      if (shapes.containsKey(bias) && !fresh.contains(bias)) {
        throw halfModule(module, fresh);
      }
    }
    for (String name : fresh) {
      if (name.endsWith(".bias")) {
        String module = name.substring(0, name.length() - ".bias".length());
        if (shapes.containsKey(module + ".weight") && !fresh.contains(module + ".weight")) {
          throw halfModule(module, fresh);
        }
      }
    }
  }

  private static TextSparkException halfModule(String module, List<String> fresh) {
    String part = module.startsWith("classifier") ? "classifier" : module.contains("pooler") ? "pooler" : module;
    return new TextSparkException("checkpoint has only one of the weight and bias of the " + part + ": missing "
        + fresh + ". Write the checkpoint again, or remove both tensors to start from a fresh head.");
  }

  /** Normal(0, std) weights and zero biases from a per-name stream, so init order does not matter. */
  private static NDArray freshParameter(NDManager manager, String name, long[] shape, double std, long seed) {
    int count = (int) Safetensors.elementCount(shape);
    float[] values = new float[count];
    if (name.endsWith(".weight")) {
      Random random = new Random(seed * 1_000_003L + name.hashCode());
      for (int i = 0; i < count; i++) {
        values[i] = (float) (random.nextGaussian() * std);
      }
    }
    return manager.create(values, new Shape(shape));
  }

  /** The tensor named {@code name}, or else {@code name} without {@code prefix}, or null. */
  public static Safetensors.Tensor withOrWithoutPrefix(
      Map<String, Safetensors.Tensor> weights, String name, String prefix) {
    Safetensors.Tensor t = weights.get(name);
    if (t == null && name.startsWith(prefix)) {
      t = weights.get(name.substring(prefix.length()));
    }
    return t;
  }

  /**
   * Every parameter by its Hugging Face name, in a stable order; the map is read-only but the
   * arrays are live, so an optimizer updates them in place.
   */
  @Override
  public Map<String, NDArray> parameters() {
    return parameters;
  }

  @Override
  public void setRequiresGradient(boolean requiresGradient) {
    for (NDArray p : parameters.values()) {
      p.setRequiresGradient(requiresGradient);
    }
  }

  /**
   * The gradient of every parameter after a backward pass, by name in {@link #parameters()} order,
   * attached to {@code into}. DJL's {@code getGradient()} returns a new handle in the parameter's
   * manager on every call, so collecting them here keeps the model's manager from growing.
   */
  @Override
  public Map<String, NDArray> gradients(NDManager into) {
    Map<String, NDArray> gradients = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      NDArray gradient = e.getValue().getGradient();
      gradient.attach(into);
      gradients.put(e.getKey(), gradient);
    }
    return gradients;
  }

  /**
   * Sets every parameter gradient to zero, as needed before each backward pass because PyTorch
   * accumulates gradients across passes, leaving no stray gradient handles in the model's manager.
   */
  @Override
  public void zeroGradients() {
    for (NDArray p : parameters.values()) {
      if (p instanceof PtNDArray pt && p.hasGradient()) {
        // zero_() in place also clears NaN, which multiplying by zero would keep.
        JniUtils.zeroGrad(pt);
      } else if (p.hasGradient()) {
        try (NDArray gradient = p.getGradient()) {
          gradient.muli(0);
        }
      }
    }
  }

  /** Writes all parameters to {@code out} in safetensors format under their Hugging Face names. */
  @Override
  public void save(OutputStream out, Map<String, String> metadata) {
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    if (metadata != null) {
      meta.putAll(metadata);
    }
    Safetensors.writeArrays(out, parameters, meta);
  }

  /** Releases the parameters. */
  @Override
  public void close() {
    manager.close();
  }
}
