package io.textspark.inference;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.textspark.TextSparkException;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/** Where and with how many threads the model runs, in a Spark task or in a plain JVM. */
public final class Compute {
  /** The choices for the device setting. */
  public static final List<String> DEVICES = List.of("auto", "cpu", "gpu");

  private Compute() {}

  /**
   * The device for {@code preference}: {@code cpu}; {@code gpu}, the GPU Spark assigned to the
   * running task (or GPU 0 outside a task); {@code auto}, that GPU when there is one, else CPU.
   */
  public static Device device(String preference) {
    if ("cpu".equals(preference)) {
      return Device.cpu();
    }
    Integer taskGpu = taskGpu();
    if (taskGpu != null) {
      return Device.gpu(taskGpu);
    }
    boolean inTask = TaskContext.get() != null;
    if ("gpu".equals(preference)) {
      if (Engine.getEngine("PyTorch").getGpuCount() > 0) {
        return Device.gpu(0);
      }
      throw new TextSparkException("device = gpu but " + (inTask ? "the Spark task has no \"gpu\" resource and " : "")
          + "PyTorch sees no CUDA device. Use device auto or cpu, or run on GPU machines with a CUDA build"
          + " (mvn -Pgpu) and spark.task.resource.gpu.amount set.");
    }
    // auto: inside a Spark task only an assigned GPU counts, so tasks never share one by accident.
    if (!inTask && Engine.getEngine("PyTorch").getGpuCount() > 0) {
      return Device.gpu(0);
    }
    return Device.cpu();
  }

  /**
   * The PyTorch threads to use: {@code configured} when positive, else {@code spark.task.cpus}
   * inside a Spark task (so concurrent tasks do not oversubscribe the executor's cores), else every
   * core.
   */
  public static int threads(int configured) {
    if (configured > 0) {
      return configured;
    }
    TaskContext task = TaskContext.get();
    return task != null ? Math.max(1, task.cpus()) : Runtime.getRuntime().availableProcessors();
  }

  /**
   * Sets the PyTorch intra-op threads. Called on the thread that then runs the model, because the
   * OpenMP thread count PyTorch uses is a per-thread setting.
   */
  public static void useThreads(int threads) {
    Engine.getEngine("PyTorch"); // loads libtorch, which the setting needs
    JniUtils.setNumThreads(threads);
  }

  private static Integer taskGpu() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return null;
    }
    Map<String, ResourceInformation> resources = task.resourcesJMap();
    ResourceInformation gpu = resources.get("gpu");
    if (gpu == null || gpu.addresses().length == 0) {
      return null;
    }
    try {
      return Integer.parseInt(gpu.addresses()[0].trim());
    } catch (NumberFormatException e) {
      throw new TextSparkException("the task's GPU address \"" + gpu.addresses()[0] + "\" is not a device number;"
          + " configure the GPU discovery script to report CUDA device ordinals.", e);
    }
  }
}
