package io.textspark.jobs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code jobs/bin/textspark} as a separate process on the packaged jar, the way the README
 * does: in a working folder, without a {@code SPARK_HOME}, its console output in a log file there.
 */
final class Launcher {
  /** The exit code and everything the launcher printed. */
  record Result(int code, String output) {}

  private Launcher() {}

  /**
   * Runs the launcher with args in workDir, with the driver memory given and the extra
   * environment, and waits at most limit for it.
   */
  static Result run(Path workDir, String driverMemory, Map<String, String> env, Duration limit, List<String> args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("bin", "textspark").toAbsolutePath().toString());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
    pb.environment().remove("SPARK_HOME");
    pb.environment().put("TEXTSPARK_DRIVER_MEMORY", driverMemory);
    pb.environment().putAll(env);
    Path log = workDir.resolve("launcher-" + System.nanoTime() + ".log");
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("textspark " + String.join(" ", args) + " did not finish within " + limit
          + "; its output so far:\n" + Files.readString(log, StandardCharsets.UTF_8));
    }
    return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }
}
