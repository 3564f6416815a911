package io.textspark.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A JVM the tests start on a classpath of their choice, with output to a log file. Its standard
 * input is a pipe the child reads until end of input ({@code HdfsServer}, {@code Supervised}), so
 * the child stops on its own when this JVM exits, even when it is killed.
 */
public final class ChildJvm implements AutoCloseable {
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

  static {
    // Belt and braces for a test JVM that exits without closing its resources.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly)));
  }

  private final String name;
  private final Process process;
  private final Path log;

  private ChildJvm(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts {@code mainClass} on {@code classpath}; {@code env} adds environment variables (for
   * example AWS credentials) to this JVM's own.
   */
  public static ChildJvm start(String name, String classpath, List<String> jvmOptions, String mainClass,
      List<String> args, java.util.Map<String, String> env, Path log) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add(mainClass);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(env);
    try {
      Files.createDirectories(log.toAbsolutePath().getParent());
      Process p = pb.start();
      RUNNING.add(p);
      return new ChildJvm(name, p, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  /** Whether the child is still running. */
  public boolean alive() {
    return process.isAlive();
  }

  /** The child's process id, for kill -9 style tests. */
  public long pid() {
    return process.pid();
  }

  /** Kills the child at once (SIGKILL): no finally blocks, no shutdown hooks, nothing flushed. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
    RUNNING.remove(process);
  }

  /** Waits for the child to exit on its own and returns its exit code, or fails after the timeout. */
  public int waitFor(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(name + " did not exit within " + seconds + " s; its log: " + tail());
    }
    RUNNING.remove(process);
    return process.exitValue();
  }

  /** The last lines of the child's log, for failure messages. */
  public String tail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** The child's log file. */
  public Path log() {
    return log;
  }

  /** Closes the child's standard input so it stops itself; kills it if it has not within 20 s. */
  @Override
  public void close() {
    try (OutputStream stdin = process.getOutputStream()) {
      stdin.flush();
    } catch (IOException e) {
      // Already closed because the child is gone: nothing to stop.
    }
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    RUNNING.remove(process);
  }

  @Override
  public String toString() {
    return name + " (pid " + process.pid() + ", log " + log + ")";
  }
}
