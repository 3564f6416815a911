package io.textspark.jobs;

import io.textspark.bench.ServeBenchmark;
import io.textspark.config.TextSparkConfig;
import io.textspark.serve.ServeJob;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** The {@code serve} and {@code bench-serve} commands: the HTTP prediction server, in this JVM without Spark. */
final class ServeCommands {
  private ServeCommands() {}

  /**
   * {@code textspark serve}: loads the model, listens, and on SIGTERM (or Ctrl-C) stops accepting,
   * answers the requests in flight and exits 0.
   */
  static final class Serve implements Command {
    @Override
    public String name() {
      return "serve";
    }

    @Override
    public String summary() {
      return "answer predictions over HTTP (POST /v1/classify) with dynamic batching, without Spark";
    }

    @Override
    public List<String> sections() {
      return List.of("serve", "score", "model");
    }

    @Override
    public List<Flag> flags() {
      return List.of(
          new Flag("--model", "score.model", true, "checkpoint folder, ONNX export folder, model folder or Hub name"),
          ScoreCommands.ENGINE,
          new Flag("--port", "serve.port", true, "TCP port (0: a free one)"),
          new Flag("--host", "serve.host", true, "interface to listen on"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags)
        throws InterruptedException {
      PrintStream out = System.out;
      ServeJob.Running running = ServeJob.start(config, out);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        int code = 0;
        out.println("serve: stopping (finishing requests in flight)");
        out.flush();
        try {
          running.close();
          out.println("serve: stopped");
        } catch (RuntimeException e) {
          System.err.println("error: serve did not stop cleanly: " + e);
          code = TextSpark.EXIT_FAILED;
        }
        out.flush();
        System.err.flush();
        // A JVM ended by SIGTERM exits 143 once its hooks are done; a server that stopped as asked
        // exits 0 instead, so that supervisors (systemd, Kubernetes) see a clean stop.
        Runtime.getRuntime().halt(code);
      }, "serve-shutdown"));
      // Serves until the process is told to stop; the shutdown hook ends it.
      Thread.currentThread().join();
      return 0;
    }
  }

  /** {@code textspark bench-serve}: see {@link ServeBenchmark}. */
  static final class BenchServe implements Command {
    @Override
    public String name() {
      return "bench-serve";
    }

    @Override
    public String summary() {
      return "requests/s and p50/p99 latency of serve next to a Flask + PyTorch server, at 1, 8 and 32 clients";
    }

    @Override
    public List<String> sections() {
      return List.of("bench", "serve", "score", "model");
    }

    @Override
    public List<Flag> flags() {
      return List.of(new Flag("--model", "score.model", true, "checkpoint folder (default: best of train.output_dir)"),
          new Flag("--requests", "bench.serve.requests", true, "timed requests per level and server"));
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) throws Exception {
      ServeBenchmark.run(config, System.out);
      return 0;
    }
  }
}
