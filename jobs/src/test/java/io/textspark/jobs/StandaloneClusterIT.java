package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyBert;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster on 127.0.0.1 (one Master and two Worker JVMs started from the
 * Maven-resolved Spark jars), the {@code train} command submitted to it through the launcher with
 * two workers, and one executor JVM killed mid-training: the run must recover by itself and end
 * with a valid best checkpoint.
 */
class StandaloneClusterIT {
  private static final Duration TRAIN_LIMIT = Duration.ofMinutes(6);

  @TempDir Path tmp;
  private final List<Process> started = new ArrayList<>();

  @Test
  void trainingRecoversFromAKilledExecutorAndEndsWithAValidBestCheckpoint() throws Exception {
    long t0 = System.nanoTime();
    try {
      Path sparkHome = sparkHome();
      int masterPort = freePort();
      String master = "spark://127.0.0.1:" + masterPort;
      Path masterLog = tmp.resolve("master.log");
      startJvm("org.apache.spark.deploy.master.Master", sparkHome, masterLog, List.of(
          // No REST submission server: it would take the fixed port 6066.
          "-Dspark.master.rest.enabled=false", "--host", "127.0.0.1", "--port", Integer.toString(masterPort),
          "--webui-port", "0"));
      awaitLog(masterLog, "I have been elected leader", Duration.ofSeconds(90));
      List<Process> workers = new ArrayList<>();
      for (int w = 1; w <= 2; w++) {
        Path log = tmp.resolve("worker" + w + ".log");
        workers.add(startJvm("org.apache.spark.deploy.worker.Worker", sparkHome, log, List.of("--host", "127.0.0.1",
            "--cores", "1", "--memory", "1536m", "--webui-port", "0", "--work-dir", tmp.resolve("work" + w).toString(),
            master)));
        awaitLog(log, "Successfully registered with master", Duration.ofSeconds(90));
      }
      phase("master and 2 workers up", t0);

      // The data stages in local mode, as a user prepares data before a cluster run.
      Path data = tmp.resolve("data");
      assertEquals(0, launch(List.of("download", "data.url=" + Shared.colaZip().toUri(), "data.root=" + data),
          tmp.resolve("download.log")).waitFor(), Files.readString(tmp.resolve("download.log")));
      assertEquals(0, launch(List.of("tokenize", "--master", "local[2]", "data.root=" + data,
          "model.name=" + Shared.miniLm()), tmp.resolve("tokenize.log")).waitFor(),
          Files.readString(tmp.resolve("tokenize.log")));
      Path model = TinyBert.write(tmp.resolve("tiny-bert"), 3);
      phase("data downloaded and tokenized", t0);

      Path run = tmp.resolve("run");
      Path trainLog = tmp.resolve("train.log");
      Process train = launch(List.of("train", "--master", master, "--conf", "spark.driver.host=127.0.0.1",
          "--conf", "spark.driver.bindAddress=127.0.0.1", "--executor-memory", "1g", "--executor-cores", "1",
          "--total-executor-cores", "2", "data.root=" + data, "model.name=" + model, "train.output_dir=" + run,
          "train.workers=2", "train.batch_size=32", "train.epochs=1", "train.max_steps=80",
          "train.checkpoint.every_steps=10", "train.max_restarts=2", "train.collective_timeout=60s",
          "train.threads=1", "train.log_every_steps=50"), trainLog);

      // Kill one executor JVM as soon as the run has committed a checkpoint: mid-training.
      Path checkpoints = run.resolve("checkpoints");
      long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
      while (!hasCommittedCheckpoint(checkpoints)) {
        assertTrue(train.isAlive(), "the run ended before its first checkpoint:\n" + Files.readString(trainLog)
            + executorLogs());
        assertTrue(System.nanoTime() < deadline, "no checkpoint after 4 minutes:\n" + Files.readString(trainLog)
            + executorLogs());
        Thread.sleep(100);
      }
      ProcessHandle executor = executorsOf(workers.get(1)).stream().findFirst().orElseThrow(
          () -> new AssertionError("worker 2 runs no executor"));
      phase("first checkpoint committed", t0);
      executor.destroyForcibly();
      executor.onExit().get(30, TimeUnit.SECONDS);
      phase("executor " + executor.pid() + " of worker 2 killed", t0);
      assertTrue(train.isAlive(), "the run finished before the executor was killed; make it longer");

      assertTrue(train.waitFor(TRAIN_LIMIT.toMinutes(), TimeUnit.MINUTES), "training did not finish in "
          + TRAIN_LIMIT + ":\n" + Files.readString(trainLog) + executorLogs());
      String out = Files.readString(trainLog, StandardCharsets.UTF_8);
      phase("training finished", t0);
      System.out.println(out);
      assertEquals(0, train.exitValue(), out + executorLogs());
      assertTrue(out.contains("train: the barrier stage failed"), out);
      assertTrue(out.contains("train: restart 1 of 2 (train.max_restarts) from checkpoint"), out);

      JsonObject summary = out.lines().filter(l -> l.startsWith("{\"best_checkpoint\"")).reduce((a, b) -> b)
          .map(l -> JsonParser.parseString(l).getAsJsonObject()).orElseThrow(() -> new AssertionError(out));
      assertEquals(80, summary.get("global_step").getAsLong(), out);
      Optional<Checkpoint> best = Checkpoint.read(new org.apache.hadoop.fs.Path(
          summary.get("best_checkpoint").getAsString()), new Configuration());
      assertTrue(best.isPresent(), "the best checkpoint is committed: " + summary);
      best.get().verify();
      assertTrue(best.get().metrics().containsKey("val/mcc"), best.get().metrics().toString());
    } finally {
      for (int i = started.size() - 1; i >= 0; i--) {
        killTree(started.get(i).toHandle());
      }
    }
  }

  /** A folder laid out as SPARK_HOME: {@code jars/} holds the Spark jars Maven resolved for the launcher. */
  private Path sparkHome() throws IOException {
    Path home = tmp.resolve("spark-home");
    Path jars = Files.createDirectories(home.resolve("jars"));
    String classpath = Files.readString(Path.of("target", "launcher", "spark-classpath.txt")).trim();
    for (String jar : classpath.split(java.io.File.pathSeparator)) {
      Path p = Path.of(jar);
      Files.createSymbolicLink(jars.resolve(p.getFileName()), p.toAbsolutePath());
    }
    return home;
  }

  private Process startJvm(String mainClass, Path sparkHome, Path log, List<String> args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx512m");
    cmd.addAll(Arrays.asList(System.getProperty("textspark.jvm.options", "").trim().split("\\s+")));
    args.stream().filter(a -> a.startsWith("-D")).forEach(cmd::add);
    cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + "/*", mainClass));
    args.stream().filter(a -> !a.startsWith("-D")).forEach(cmd::add);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private Process launch(List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("bin", "textspark").toAbsolutePath().toString());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().remove("SPARK_HOME");
    pb.environment().put("HF_ENDPOINT", Shared.hubEndpoint());
    pb.environment().put("TEXTSPARK_CACHE", tmp.resolve("cache").toString());
    pb.environment().put("TEXTSPARK_DRIVER_MEMORY", "1g");
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private static void awaitLog(Path log, String text, Duration limit) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!(Files.exists(log) && Files.readString(log).contains(text))) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("\"" + text + "\" not in " + log + " after " + limit + ":\n"
            + (Files.exists(log) ? Files.readString(log) : "(no log)"));
      }
      Thread.sleep(200);
    }
  }

  /** The last lines each executor wrote (its stdout holds rank 0's progress), for failure messages. */
  private String executorLogs() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (String w : List.of("work1", "work2")) {
      Path dir = tmp.resolve(w);
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.filter(p -> p.getFileName().toString().matches("stdout|stderr")).sorted().toList()) {
          List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
          sb.append("\n== ").append(tmp.relativize(f)).append('\n');
          lines.subList(Math.max(0, lines.size() - 25), lines.size()).forEach(l -> sb.append(l).append('\n'));
        }
      }
    }
    return sb.toString();
  }

  private static void phase(String what, long t0) {
    System.out.printf(java.util.Locale.ROOT, "[%5.1f s] %s%n", (System.nanoTime() - t0) / 1e9, what);
  }

  private static boolean hasCommittedCheckpoint(Path checkpoints) throws IOException {
    if (!Files.isDirectory(checkpoints)) {
      return false;
    }
    try (Stream<Path> dirs = Files.list(checkpoints)) {
      return dirs.anyMatch(d -> !d.getFileName().toString().startsWith(".")
          && Files.isRegularFile(d.resolve(Checkpoint.MANIFEST)));
    }
  }

  /** The executor JVMs a Worker has launched (its CoarseGrainedExecutorBackend children). */
  private static List<ProcessHandle> executorsOf(Process worker) {
    return worker.toHandle().descendants().filter(h -> commandLine(h).contains("CoarseGrainedExecutorBackend"))
        .toList();
  }

  private static String commandLine(ProcessHandle h) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(h.pid()), "cmdline")).replace('\0', ' ');
    } catch (IOException e) {
      return h.info().commandLine().orElse("");
    }
  }

  /** Kills a process we started and everything it started (executors, the launcher's JVM). */
  private static void killTree(ProcessHandle root) {
    root.descendants().forEach(ProcessHandle::destroyForcibly);
    root.destroyForcibly();
    try {
      root.onExit().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Best effort: the JVM is going away with the test run anyway.
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
