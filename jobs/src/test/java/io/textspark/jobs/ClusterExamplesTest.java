package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.config.TextSparkConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GPU cluster examples in conf/ load, and the discovery script prints what Spark expects. */
class ClusterExamplesTest {
  private static final Path CONF = Path.of("..", "conf");

  @TempDir Path tmp;

  @Test
  void theGpuClusterSettingsAreValidTextsparkAndSparkConfiguration() throws IOException {
    TextSparkConfig c = TextSparkConfig.load(List.of(CONF.resolve("cluster-gpu.conf").toString()), List.of());
    assertEquals(8, c.train().workers());
    assertEquals(Duration.ofMinutes(2), c.train().collectiveTimeout());
    assertTrue(c.train().outputDir().startsWith("hdfs://"), "checkpoints on shared storage");

    Properties spark = new Properties();
    try (var in = Files.newBufferedReader(CONF.resolve("cluster-gpu.spark.conf"), StandardCharsets.UTF_8)) {
      spark.load(in); // spark-defaults format is Java properties with whitespace separators
    }
    assertEquals("1", spark.getProperty("spark.task.resource.gpu.amount"));
    assertEquals("false", spark.getProperty("spark.dynamicAllocation.enabled"));
    assertTrue(spark.getProperty("spark.executor.resource.gpu.discoveryScript").endsWith("gpu-discovery.sh"));
    spark.stringPropertyNames().forEach(k -> assertTrue(k.startsWith("spark."), k));
  }

  private String discover(Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder("bash", CONF.resolve("gpu-discovery.sh").toString())
        .redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  @Test
  void theDiscoveryScriptListsNvidiaSmiGpusAndNoneWithoutIt() throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path fake = bin.resolve("nvidia-smi");
    Files.writeString(fake, "#!/usr/bin/env bash\nprintf '0\\n1\\n 3\\n'\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
    assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\",\"3\"]}",
        discover(Map.of("PATH", bin + ":/usr/bin:/bin")));
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Files.createSymbolicLink(empty.resolve("bash"), Path.of("/bin/bash"));
    assertEquals("{\"name\":\"gpu\",\"addresses\":[]}", discover(Map.of("PATH", empty.toString())));
  }
}
