package io.textspark.compute;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.textspark.TextSparkException;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * Where and with how many threads a model runs, in a Spark task or in a plain JVM: the one place
 * that reads the task's GPU and {@code spark.task.cpus} and sets PyTorch's thread count.
 */
public final class Compute {
  /** The choices for the device setting. */
  public static final List<String> DEVICES = List.of("auto", "cpu", "gpu");

  /**
   * A device and thread count chosen for the calling thread.
   *
   * @param device where the model's tensors live
   * @param threads the PyTorch intra-op threads set on the thread that chose them
   */
  public record Placement(Device device, int threads) {}

  private Compute() {}

  /**
   * Chooses the device for {@code device} ({@link #device}) and the threads for {@code threads}
   * ({@link #threads(int)}), and sets those threads on the calling thread, which then runs the model.
   */
  public static Placement place(String device, int threads) {
    Device chosen = device(device);
    int n = threads(threads);
    useThreads(n);
    return new Placement(chosen, n);
  }

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
    TaskContext task = TaskContext.get();
    return threads(configured, task != null ? task.cpus() : Runtime.getRuntime().availableProcessors());
  }

  /**
   * The PyTorch threads to use where {@code cpus} cores are there to use: {@code configured} when
   * positive, else {@code cpus} (at least 1). The driver uses it for what its tasks will get.
   */
  public static int threads(int configured, int cpus) {
    return configured > 0 ? configured : Math.max(1, cpus);
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
