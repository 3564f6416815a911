package io.textspark.jobs;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.bench.RingBenchmark;
import io.textspark.config.AllReduceBenchConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.train.TrainJob;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/** The {@code bench-allreduce} command. */
final class BenchCommands {
  private BenchCommands() {}

  /**
   * {@code textspark bench-allreduce}: ring all-reduce bus bandwidth on loopback next to raw
   * loopback TCP, the ring's fitted α and β, and all-reduce time as a share of step time in two
   * short 2-worker CoLA runs (accumulate 1 and 4), with the scaling model projected from them.
   */
  static final class AllReduce implements Command {
    @Override
    public String name() {
      return "bench-allreduce";
    }

    @Override
    public String summary() {
      return "ring all-reduce bandwidth on loopback, and its share of step time in short 2-worker CoLA runs";
    }

    @Override
    public List<String> sections() {
      return List.of("bench", "train", "data", "model");
    }

    @Override
    public int run(TextSparkConfig config, List<String> positional, Map<String, String> flags) throws IOException {
      AllReduceBenchConfig bench = AllReduceBenchConfig.from(config.raw());
      List<RingBenchmark.CostModel> models =
          RingBenchmark.run(bench.workers(), bench.floats(), bench.repeats(), System.out);
      if (bench.trainSteps() == 0) {
        return 0;
      }
      SparkSession spark = Spark.session(name());
      Path dir = Files.createTempDirectory("textspark-bench-");
      try {
        int steps = bench.trainSteps();
        double microSeconds = 0;
        long gradientFloats = 0;
        for (int k : new int[] {1, 4}) {
          System.out.printf(Locale.ROOT, "%n2 workers, accumulate %d, %d steps of CoLA with %s:%n", k, steps,
              config.model().name());
          Path run = dir.resolve("k" + k);
          TrainJob.run(spark, config.overriding("train.workers=2", "train.accumulate=" + k, "train.epochs=1",
              "train.max_steps=" + steps, "train.log_every_steps=" + Math.max(1, steps / 2),
              "train.output_dir=" + run, "train.resume_from=", "train.checkpoint.save_top_k=0",
              "train.checkpoint.every_steps=0", "train.val_every_steps=0"), List.of());
          double[] t = lastTimings(run.resolve("logs/metrics.jsonl"));
          double step = (t[0] + t[3]) / 2;
          double inCalls = (t[1] + t[4]) / 2;
          double waiting = (t[2] + t[5]) / 2;
          double transfer = inCalls - waiting;
          System.out.printf(Locale.ROOT, "all-reduce share of step time, accumulate %d: step %.3f s; in all-reduce"
              + " calls %.3f s (%.1f%%), of which transfers %.3f s (%.1f%%) and waiting for the other worker %.3f s%n",
              k, step, inCalls, 100 * inCalls / step, transfer, 100 * transfer / step, waiting);
          if (k == 4) {
            microSeconds = (step - inCalls) / k;
          }
          gradientFloats = gradientFloats == 0 ? floatsOf(run) : gradientFloats;
        }
        project(models, microSeconds, gradientFloats);
      } finally {
        try (Stream<Path> files = Files.walk(dir)) {
          files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
      return 0;
    }

    /** Rank 0 and rank 1's last logged step, all-reduce and waiting seconds, as {s0, a0, w0, s1, a1, w1}. */
    private static double[] lastTimings(Path metrics) throws IOException {
      double[] last = null;
      for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        if (o.has("time/step_seconds/rank0")) {
          last = new double[6];
          for (int r = 0; r < 2; r++) {
            last[3 * r] = o.get("time/step_seconds/rank" + r).getAsDouble();
            last[3 * r + 1] = o.get("time/allreduce_seconds/rank" + r).getAsDouble();
            last[3 * r + 2] = o.get("time/wait_seconds/rank" + r).getAsDouble();
          }
        }
      }
      if (last == null) {
        throw new IOException("no per-rank timings in " + metrics);
      }
      return last;
    }

    /** Parameters of the trained model: its checkpoint's weights at 4 bytes each. */
    private static long floatsOf(Path run) throws IOException {
      try (Stream<Path> files = Files.walk(run.resolve("checkpoints"))) {
        return files.filter(p -> p.getFileName().toString().equals("model.safetensors")).findFirst()
            .map(p -> p.toFile().length() / 4).orElse(0L);
      }
    }

    /** Step time at 8, 64 and 256 workers: k micro-batches of compute plus the ring's α/β model. */
    private static void project(List<RingBenchmark.CostModel> models, double microSeconds, long floats) {
      if (models.isEmpty() || microSeconds <= 0) {
        return;
      }
      RingBenchmark.CostModel m = models.get(0);
      double bytes = 4.0 * floats;
      System.out.printf(Locale.ROOT, "%nscaling model: step(N) = k * %.3f s (compute per micro-batch, measured) +"
          + " 2(N-1) * %s + 2(N-1)/N * %s / %s (ring fit of %d workers)%n", microSeconds,
          RingBenchmark.time(m.alpha()), RingBenchmark.bytes((long) bytes), RingBenchmark.rate(m.beta()), m.workers());
      System.out.printf(Locale.ROOT, "  %8s %14s %14s %14s%n", "workers", "all-reduce", "share k=1", "share k=4");
      for (int n : new int[] {2, 8, 64, 256}) {
        double ar = m.predict(n, bytes);
        System.out.printf(Locale.ROOT, "  %8d %14s %13.1f%% %13.1f%%%n", n, RingBenchmark.time(ar),
            100 * ar / (microSeconds + ar), 100 * ar / (4 * microSeconds + ar));
      }
    }
  }
}
