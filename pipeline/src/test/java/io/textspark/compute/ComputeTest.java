package io.textspark.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.textspark.testing.SharedSpark;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Device and thread choices, in this JVM and inside a Spark task (the shared fixture: spark.task.cpus 1). */
class ComputeTest {
  @Test
  void threadsAreTheConfiguredCountElseTheCoresThereAre() {
    assertEquals(3, Compute.threads(3));
    assertEquals(Runtime.getRuntime().availableProcessors(), Compute.threads(0), "outside a task: every core");
    assertEquals(5, Compute.threads(5, 2));
    assertEquals(2, Compute.threads(0, 2));
    assertEquals(1, Compute.threads(0, 0), "never fewer than one");
  }

  @Test
  void cpuIsTheCpuAndAutoIsTheCpuWithoutACudaDevice() {
    assertEquals(Device.cpu(), Compute.device("cpu"));
    if (Engine.getEngine("PyTorch").getGpuCount() == 0) {
      assertEquals(Device.cpu(), Compute.device("auto"));
      RuntimeException e = assertThrows(RuntimeException.class,
          () -> Compute.device("gpu"));
      assertTrue(e.getMessage().contains("device = gpu"), e.getMessage());
    }
    Compute.Placement p = Compute.place("cpu", 2);
    assertEquals(Device.cpu(), p.device());
    assertEquals(2, p.threads());
  }

  @Test
  void insideATaskThreadsFollowSparkTaskCpusAndAutoWithoutAnAssignedGpuIsTheCpu() {
    SparkSession spark = SharedSpark.get();
    List<String> seen = new JavaSparkContext(spark.sparkContext()).parallelize(List.of(1, 2), 2)
        .map(i -> Compute.threads(0) + " " + Compute.device("auto") + " " + Compute.threads(4)).collect();
    assertEquals(List.of("1 " + Device.cpu() + " 4", "1 " + Device.cpu() + " 4"), seen);
  }
}
