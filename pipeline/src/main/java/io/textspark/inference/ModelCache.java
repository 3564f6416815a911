package io.textspark.inference;

import ai.djl.Device;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * One {@link ScoringModel} per JVM for each (model content, device): the tasks of an executor share
 * the weights instead of loading them per task or per partition. Models stay loaded until the JVM
 * exits, which suits executors that score with one or a few models.
 */
public final class ModelCache {
  private static final ConcurrentHashMap<String, ScoringModel> CACHE = new ConcurrentHashMap<>();
  private static final AtomicInteger LOADED = new AtomicInteger();

  private ModelCache() {}

  /**
   * The JVM's model for {@code key} (see {@link ModelBundle#key()}) on {@code device}; {@code bundle}
   * is only asked for on the first call, so a broadcast is fetched once per executor.
   */
  public static ScoringModel get(String key, Device device, Supplier<ModelBundle> bundle) {
    return CACHE.computeIfAbsent(key + "@" + device, k -> {
      LOADED.incrementAndGet();
      return bundle.get().load(device);
    });
  }

  /** How many models this JVM has loaded so far; lets tests check the reuse. */
  public static int loaded() {
    return LOADED.get();
  }
}
