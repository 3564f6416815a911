package io.textspark.inference;

import ai.djl.Device;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * One {@link InferenceModel} per JVM for each model content and, on PyTorch, device, or, on ONNX
 * Runtime, session thread count: the tasks of an executor share the weights (and one ONNX Runtime
 * session) instead of loading them per task or per partition. Models stay loaded until the JVM
 * exits, which suits executors that score with one or a few models.
 */
public final class ModelCache {
  private static final ConcurrentHashMap<String, InferenceModel> CACHE = new ConcurrentHashMap<>();
  private static final AtomicInteger LOADED = new AtomicInteger();

  private ModelCache() {}

  /**
   * The JVM's model for {@code key} (see {@link ModelBundle#key()}) on {@code engine}: on {@code
   * device} for PyTorch, with {@code threads} session threads for ONNX Runtime. {@code bundle} is
   * only asked for on the first call, so a broadcast is fetched once per executor.
   */
  public static InferenceModel get(String key, Engine engine, Device device, int threads,
      Supplier<ModelBundle> bundle) {
    String slot = engine == Engine.ONNXRUNTIME ? key + "@onnxruntime/" + threads + "-threads" : key + "@" + device;
    return CACHE.computeIfAbsent(slot, k -> {
      LOADED.incrementAndGet();
      return bundle.get().load(device, threads);
    });
  }

  /** How many models this JVM has loaded so far; lets tests check the reuse. */
  public static int loaded() {
    return LOADED.get();
  }
}
