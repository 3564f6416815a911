package io.textspark.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.compute.Compute;
import io.textspark.config.BenchConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import io.textspark.data.DataLayout;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.PretrainedModel;
import io.textspark.model.Safetensors;
import io.textspark.batch.BatchPlan;
import io.textspark.batch.Examples;
import io.textspark.train.MemoryStats;
import io.textspark.train.TrainJob;
import io.textspark.train.Trainer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code bench-train} command: trains with our {@link Trainer} and with plain PyTorch in Python
 * ({@code bench/pytorch_bert.py}) on identical padded batches, and prints throughput, validation
 * MCC per epoch and resident memory per epoch side by side.
 *
 * <p>Both sides get the same tokenized rows, the same batch plan (bucketed shuffle from the seed),
 * the same weights, recipe and thread count, so the only difference is the framework. The
 * throughput phase times {@code bench.steps} optimizer steps (the first few left out as warm-up);
 * {@code bench.full} adds a whole training run on each side for the quality comparison.
 */
public final class TrainBenchmark {
  private static final int WARMUP_STEPS = 5;
  private static final String MMAP_THRESHOLD = PythonBaseline.MMAP_THRESHOLD;

  private TrainBenchmark() {}

  /** Runs the benchmark; returns its figures as JSON (also written to {@code work_dir/bench-train.json}). */
  public static JsonObject run(SparkSession spark, TextSparkConfig config) throws IOException {
    TrainConfig cfg = config.train();
    BenchConfig.Train b = config.bench().train();
    Options options = new Options(b.steps(), b.full(), b.python(), Path.of(b.script()).toAbsolutePath(),
        Path.of(b.workDir()).toAbsolutePath());
    if (cfg.workers() != 1) {
      throw new TextSparkException("bench-train compares one worker with one Python process; set train.workers=1.");
    }
    if (!Files.isRegularFile(options.script())) {
      throw new TextSparkException("the PyTorch baseline " + options.script() + " does not exist; run bench-train"
          + " from the project folder or set bench.script.");
    }
    Files.createDirectories(options.workDir());
    Path data = options.workDir().resolve("data");
    Path model = options.workDir().resolve("model");
    DataLayout layout = new DataLayout(config.data().root());
    Examples train = Examples.fromRows(
        spark.read().parquet(layout.tokenized("train").toString()).toLocalIterator(), "training set");
    Examples validation = Examples.fromRows(
        spark.read().parquet(layout.tokenized("validation").toString()).toLocalIterator(), "validation set");
    exportRows(train, data.resolve("train.jsonl"));
    exportRows(validation, data.resolve("validation.jsonl"));
    exportPlan(train, cfg, data.resolve("plan.json"));
    ClassifierConfig modelConfig = exportPretrained(config, spark, model);
    int threads = Compute.threads(cfg.threads());

    JsonObject result = new JsonObject();
    result.addProperty("threads", threads);
    result.addProperty("batch_size", cfg.batchSize());
    result.addProperty("train_rows", train.size());

    Console.info("bench-train: throughput, %d steps of batch %d on %d threads",
        options.steps(), Trainer.globalBatch(cfg), threads);
    StepTimer timer = new StepTimer(WARMUP_STEPS);
    Path throughputRun = fresh(options.workDir().resolve("java-throughput"));
    boolean throughputPeakOnly = MemoryStats.resetPeak();
    TrainJob.run(spark, config.with(List.of(
        "train.max_steps=" + options.steps(),
        "train.output_dir=" + throughputRun.toUri(),
        "train.threads=" + threads)), List.of(timer));
    long throughputPeak = MemoryStats.peakRssBytes();
    double javaRate = timer.samplesPerSecond(train, cfg, config);
    List<JsonObject> python = python(options, cfg, threads, model, data, options.steps(), false);
    double pythonRate = last(python, "throughput").get("samples_per_second").getAsDouble();
    // PyTorch with the allocator settings our launcher uses, to show what they are worth on either side.
    List<JsonObject> pythonTuned = python(options, cfg, threads, model, data, options.steps(), true);
    double pythonTunedRate = last(pythonTuned, "throughput").get("samples_per_second").getAsDouble();
    JsonObject throughput = new JsonObject();
    throughput.addProperty("textspark_samples_per_second", javaRate);
    throughput.addProperty("pytorch_samples_per_second", pythonRate);
    throughput.addProperty("ratio", javaRate / pythonRate);
    throughput.addProperty("pytorch_tuned_allocator_samples_per_second", pythonTunedRate);
    throughput.addProperty("ratio_tuned_allocator", javaRate / pythonTunedRate);
    throughput.addProperty("malloc_mmap_threshold", String.valueOf(System.getenv(MMAP_THRESHOLD)));
    throughput.addProperty("textspark_peak_rss_bytes", throughputPeak);
    throughput.addProperty("textspark_peak_rss_includes_earlier_phases", !throughputPeakOnly);
    throughput.addProperty("pytorch_peak_rss_bytes", last(python, "throughput").get("max_rss_bytes").getAsLong());
    throughput.addProperty("pytorch", last(python, "start").get("torch").getAsString());
    throughput.addProperty("pytorch_blas", last(python, "start").get("blas").getAsString());
    throughput.add("flops", trainingFlops(modelConfig, train, threads, javaRate, pythonTunedRate));
    result.add("throughput", throughput);

    if (options.full()) {
      Console.info("bench-train: full recipe on both sides");
      EpochMemory memory = new EpochMemory();
      Path runDir = fresh(options.workDir().resolve("java-full"));
      // The peak of this run alone, as the baseline's is of its own fresh process.
      boolean peakOfRunOnly = MemoryStats.resetPeak();
      Trainer.Summary summary = TrainJob.run(spark, config.with(List.of(
          "train.output_dir=" + runDir.toUri(), "train.threads=" + threads, "train.resume_from=")),
          List.of(memory));
      long javaPeak = MemoryStats.peakRssBytes();
      List<JsonObject> pythonFull = python(options, cfg, threads, model, data, -1, false);
      JsonArray epochs = new JsonArray();
      List<JsonObject> javaEpochs = validationRecords(runDir.resolve("logs/metrics.jsonl"));
      List<JsonObject> pythonEpochs = pythonFull.stream().filter(o -> "epoch".equals(event(o))).toList();
      for (int e = 0; e < Math.max(javaEpochs.size(), pythonEpochs.size()); e++) {
        JsonObject row = new JsonObject();
        row.addProperty("epoch", e + 1);
        if (e < javaEpochs.size()) {
          row.addProperty("textspark_mcc", javaEpochs.get(e).get("val/mcc").getAsDouble());
          row.addProperty("textspark_accuracy", javaEpochs.get(e).get("val/accuracy").getAsDouble());
        }
        if (e < memory.rss.size()) {
          row.addProperty("textspark_seconds", memory.seconds.get(e));
          row.addProperty("textspark_rss_bytes", memory.rss.get(e));
          row.addProperty("textspark_heap_bytes", memory.heap.get(e));
        }
        if (e < pythonEpochs.size()) {
          row.addProperty("pytorch_mcc", pythonEpochs.get(e).get("mcc").getAsDouble());
          row.addProperty("pytorch_accuracy", pythonEpochs.get(e).get("accuracy").getAsDouble());
          row.addProperty("pytorch_rss_bytes", pythonEpochs.get(e).get("rss_bytes").getAsLong());
          row.addProperty("pytorch_seconds", pythonEpochs.get(e).get("seconds").getAsDouble());
        }
        epochs.add(row);
      }
      JsonObject full = new JsonObject();
      full.add("epochs", epochs);
      full.addProperty("textspark_seconds", summary.seconds());
      full.addProperty("textspark_samples_per_second", summary.samplesPerSecond());
      full.addProperty("pytorch_samples_per_second",
          last(pythonFull, "throughput").get("samples_per_second").getAsDouble());
      full.addProperty("textspark_peak_rss_bytes", javaPeak);
      full.addProperty("textspark_peak_rss_includes_earlier_phases", !peakOfRunOnly);
      full.addProperty("pytorch_peak_rss_bytes", last(pythonFull, "throughput").get("max_rss_bytes").getAsLong());
      result.add("full", full);
    }
    Files.writeString(options.workDir().resolve("bench-train.json"), result.toString() + "\n");
    print(result);
    return result;
  }

  /**
   * Loads the pretrained model and writes it where the baseline reads it; returns its config. The model
   * is not kept: its weights would stay reachable, and resident, through both training runs.
   */
  private static ClassifierConfig exportPretrained(TextSparkConfig config, SparkSession spark, Path folder)
      throws IOException {
    PretrainedModel pretrained =
        PretrainedModel.load(config.model().name(), config.model(), spark.sparkContext().hadoopConfiguration());
    exportModel(pretrained, folder);
    return pretrained.config();
  }

  /**
   * Training FLOP/s of both sides as a share of this machine's fp32 GEMM rate, measured here on the
   * same threads: a training step costs about three forward passes (forward, then the gradients of
   * activations and of weights), counted on the real tokens of the rows (padding left out).
   */
  private static JsonObject trainingFlops(ClassifierConfig modelConfig, Examples train, int threads, double javaRate,
      double pythonRate) {
    double meanTokens = (double) train.totalTokens() / Math.max(1, train.size());
    double gflopPerSample = 3 * ComputeLimit.flopsPerRow(modelConfig, meanTokens) / 1e9;
    double gemm = ComputeLimit.gemmGflops(threads, Duration.ofSeconds(5));
    JsonObject o = new JsonObject();
    o.addProperty("gemm_gflops", gemm);
    o.addProperty("mean_tokens", meanTokens);
    o.addProperty("gflop_per_sample", gflopPerSample);
    o.addProperty("textspark_gflops", javaRate * gflopPerSample);
    o.addProperty("pytorch_tuned_allocator_gflops", pythonRate * gflopPerSample);
    o.addProperty("textspark_share_of_gemm", javaRate * gflopPerSample / gemm);
    o.addProperty("pytorch_tuned_allocator_share_of_gemm", pythonRate * gflopPerSample / gemm);
    return o;
  }

  /** The benchmark's own run folder, emptied: a run from an earlier benchmark would otherwise be resumed or refused. */
  private static Path fresh(Path runDir) throws IOException {
    if (Files.exists(runDir)) {
      try (Stream<Path> paths = Files.walk(runDir)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    return runDir;
  }

  private record Options(int steps, boolean full, String python, Path script, Path workDir) {}

  private static void print(JsonObject r) {
    JsonObject t = r.getAsJsonObject("throughput");
    Console.info("");
    Console.info("training throughput (batch %d, %d threads, same batches):",
        r.get("batch_size").getAsInt(), r.get("threads").getAsInt());
    Console.info("  textspark (DJL)        %8.1f samples/s",
        t.get("textspark_samples_per_second").getAsDouble());
    Console.info("  PyTorch %s eager %8.1f samples/s   (BLAS %s)",
        t.get("pytorch").getAsString(), t.get("pytorch_samples_per_second").getAsDouble(),
        t.get("pytorch_blas").getAsString());
    Console.info("  PyTorch, large blocks kept %8.1f samples/s   (the allocator settings textspark uses)",
        t.get("pytorch_tuned_allocator_samples_per_second").getAsDouble());
    Console.info("  ratio textspark / PyTorch  %.2f   (%.2f against PyTorch with the same allocator settings)",
        t.get("ratio").getAsDouble(), t.get("ratio_tuned_allocator").getAsDouble());
    JsonObject fl = t.getAsJsonObject("flops");
    Console.info("  training FLOP/s: textspark %.1f GFLOP/s = %.0f%% of the %.1f GFLOP/s fp32 GEMM rate measured on %d"
        + " threads; PyTorch (same allocator) %.1f GFLOP/s = %.0f%%   (3 x forward FLOPs, %.4f GFLOP per sample"
        + " at %.1f tokens)", fl.get("textspark_gflops").getAsDouble(), 100 * fl.get("textspark_share_of_gemm").getAsDouble(),
        fl.get("gemm_gflops").getAsDouble(), r.get("threads").getAsInt(),
        fl.get("pytorch_tuned_allocator_gflops").getAsDouble(),
        100 * fl.get("pytorch_tuned_allocator_share_of_gemm").getAsDouble(), fl.get("gflop_per_sample").getAsDouble(),
        fl.get("mean_tokens").getAsDouble());
    printPeak(t);
    if (r.has("full")) {
      JsonObject f = r.getAsJsonObject("full");
      Console.info("validation per epoch:     textspark MCC  acc     time    RSS       |  PyTorch MCC  acc     time"
          + "    RSS");
      for (JsonElement e : f.getAsJsonArray("epochs")) {
        JsonObject o = e.getAsJsonObject();
        Console.info("  epoch %d                  %6.4f  %6.4f  %5.0f s  %s  |  %6.4f  %6.4f  %5.0f s  %s",
            o.get("epoch").getAsInt(), num(o, "textspark_mcc"), num(o, "textspark_accuracy"),
            num(o, "textspark_seconds"), gib(o, "textspark_rss_bytes"), num(o, "pytorch_mcc"),
            num(o, "pytorch_accuracy"), num(o, "pytorch_seconds"), gib(o, "pytorch_rss_bytes"));
      }
      Console.info("  whole run: textspark %.1f s at %.1f samples/s; PyTorch %.1f samples/s",
          f.get("textspark_seconds").getAsDouble(), f.get("textspark_samples_per_second").getAsDouble(),
          f.get("pytorch_samples_per_second").getAsDouble());
      printPeak(f);
    }
  }

  /** Both sides' peak resident memory over one phase, from the figures {@link #run} recorded for it. */
  private static void printPeak(JsonObject phase) {
    Console.info("  peak RSS: textspark %s%s, PyTorch %s (ratio %.2f)",
        gib(phase, "textspark_peak_rss_bytes"),
        phase.get("textspark_peak_rss_includes_earlier_phases").getAsBoolean() ? " (with earlier phases)" : "",
        gib(phase, "pytorch_peak_rss_bytes"),
        phase.get("textspark_peak_rss_bytes").getAsLong() / (double) phase.get("pytorch_peak_rss_bytes").getAsLong());
  }

  private static double num(JsonObject o, String key) {
    return o.has(key) ? o.get(key).getAsDouble() : Double.NaN;
  }

  private static String gib(JsonObject o, String key) {
    return o.has(key) ? String.format(Locale.ROOT, "%.2f GiB", o.get(key).getAsLong() / (double) (1L << 30)) : "   -    ";
  }

  private static List<JsonObject> python(
      Options options, TrainConfig cfg, int threads, Path model, Path data, int maxSteps, boolean tunedAllocator) {
    List<String> args = List.of("train",
        "--model", model.toString(), "--data", data.toString(), "--threads", Integer.toString(threads),
        "--seed", Long.toString(cfg.seed()), "--lr", Double.toString(cfg.lr()),
        "--weight-decay", Double.toString(cfg.weightDecay()), "--warmup-ratio", Double.toString(cfg.warmupRatio()),
        "--max-grad-norm", Double.toString(cfg.maxGradNorm()), "--dropout", Double.toString(cfg.dropout()),
        "--max-steps", Integer.toString(maxSteps), "--skip-steps", Integer.toString(WARMUP_STEPS),
        "--val-batch-size", Integer.toString(cfg.valBatchSize()));
    return PythonBaseline.run(options.python(), options.script().toString(), args, tunedAllocator, event -> {
      if ("epoch".equals(event(event))) {
        Console.info("pytorch: epoch %d done: val mcc %.4f accuracy %.4f (RSS %.2f GiB)",
            event.get("epoch").getAsInt(), event.get("mcc").getAsDouble(), event.get("accuracy").getAsDouble(),
            event.get("rss_bytes").getAsLong() / (double) (1L << 30));
      }
    });
  }

  private static String event(JsonObject o) {
    return PythonBaseline.event(o);
  }

  private static JsonObject last(List<JsonObject> events, String name) {
    return PythonBaseline.last(events, name);
  }

  private static List<JsonObject> validationRecords(Path metrics) throws IOException {
    List<JsonObject> epochs = new ArrayList<>();
    for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      if (o.has("split") && "validation".equals(o.get("split").getAsString()) && o.has("val/mcc")) {
        epochs.add(o);
      }
    }
    return epochs;
  }

  /** Rows in {@link Examples} order, so the plan's positions index them directly. */
  static void exportRows(Examples examples, Path file) throws IOException {
    Files.createDirectories(file.getParent());
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (int i = 0; i < examples.size(); i++) {
        JsonObject row = new JsonObject();
        row.addProperty("idx", examples.idx(i));
        row.addProperty("label", examples.label(i));
        row.addProperty("domain", examples.domain(i));
        JsonArray ids = new JsonArray();
        for (int id : examples.ids(i)) {
          ids.add(id);
        }
        row.add("ids", ids);
        w.write(row.toString());
        w.write('\n');
      }
    }
  }

  /** Every epoch's optimizer steps as row positions, exactly as the trainer will take them. */
  static void exportPlan(Examples train, TrainConfig cfg, Path file) throws IOException {
    JsonArray epochs = new JsonArray();
    for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
      JsonArray steps = new JsonArray();
      for (int[] step : BatchPlan.steps(train, Trainer.globalBatch(cfg), cfg.seed(), epoch, cfg.bucketBatches())) {
        JsonArray positions = new JsonArray();
        for (int p : step) {
          positions.add(p);
        }
        steps.add(positions);
      }
      epochs.add(steps);
    }
    Files.writeString(file, epochs.toString(), StandardCharsets.UTF_8);
  }

  /** Writes a model's {@code config.json} and {@code model.safetensors} for the Python baseline. */
  public static void exportModel(PretrainedModel pretrained, Path folder) throws IOException {
    Files.createDirectories(folder);
    Files.writeString(folder.resolve(CheckpointLayout.CONFIG), pretrained.config().toJson(), StandardCharsets.UTF_8);
    try (OutputStream out = Files.newOutputStream(folder.resolve(CheckpointLayout.WEIGHTS))) {
      Safetensors.write(out, pretrained.weights(), Map.of());
    }
  }

  /** Times optimizer steps from the listener's calls, leaving out the first few. */
  private static final class StepTimer implements Trainer.Listener {
    private final int skip;
    private long previous;
    private long firstTimed;
    private long lastTimed;
    private long steps;

    StepTimer(int skip) {
      this.skip = skip;
    }

    @Override
    public void afterStep(long globalStep, int epoch, int position) {
      long now = System.nanoTime();
      if (globalStep == skip) {
        firstTimed = now;
      } else if (globalStep > skip) {
        lastTimed = now;
        steps = globalStep - skip;
      }
      previous = now;
    }

    double samplesPerSecond(Examples train, TrainConfig cfg, TextSparkConfig config) {
      if (steps == 0 || previous == 0) {
        throw new TextSparkException("bench.train.steps must be larger than " + skip + " to time anything.");
      }
      List<int[]> plan = BatchPlan.steps(train, Trainer.globalBatch(cfg), cfg.seed(), 0, cfg.bucketBatches());
      long rows = 0;
      for (int s = skip; s < skip + steps; s++) {
        rows += plan.get(s).length;
      }
      return rows / ((lastTimed - firstTimed) / 1e9);
    }
  }

  /** Resident and heap memory after each checkpoint, which the default recipe writes once per epoch. */
  private static final class EpochMemory implements Trainer.Listener {
    private final List<Long> rss = new ArrayList<>();
    private final List<Long> heap = new ArrayList<>();
    /** Wall seconds of each epoch, its validation and checkpoint included. */
    private final List<Double> seconds = new ArrayList<>();
    private long epochStarted = System.nanoTime();

    @Override
    public void afterCheckpoint(Checkpoint checkpoint) {
      rss.add(MemoryStats.rssBytes());
      heap.add(MemoryStats.heapBytes());
      long now = System.nanoTime();
      seconds.add((now - epochStarted) / 1e9);
      epochStarted = now;
    }
  }
}
