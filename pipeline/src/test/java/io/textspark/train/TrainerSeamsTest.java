package io.textspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.collective.Collective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import io.textspark.console.Reporter;
import io.textspark.metrics.MetricsSink;
import io.textspark.metrics.RunLogs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's seams: extra metrics sinks, the output channel, and the checkpoint policy. */
class TrainerSeamsTest {
  private static final Configuration CONF = new Configuration();

  @TempDir Path tmp;

  private static TrainConfig cfg(String... overrides) {
    List<String> all = new ArrayList<>(List.of("train.batch_size=16", "train.lr=3e-3", "train.epochs=2",
        "train.bucket_batches=2", "train.log_every_steps=1000", "train.threads=1", "train.seed=7"));
    all.addAll(List.of(overrides));
    return TextSparkConfig.load(List.of(), all).train();
  }

  private static TrainInputs inputs(Path out) {
    return new TrainInputs(TrainerTest.task(64, 1), TrainerTest.task(32, 2), TrainerTest.TINY,
        TrainerTest.tinyWeights(3), "{}".getBytes(StandardCharsets.UTF_8), "tiny", "{}",
        new org.apache.hadoop.fs.Path(out.toUri()), CONF);
  }

  /** A sink that keeps what it is given, as "split step key=value" lines. */
  private static final class Recording implements MetricsSink {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    boolean closed;

    @Override
    public void scalars(Map<String, Double> values, long step, int epoch, String split) {
      values.forEach((k, v) -> lines.add(split + " " + step + " " + k + "=" + v));
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  @Test
  void anExtraSinkReceivesWhatTheRunLogsAndIsClosed() throws Exception {
    Recording extra = new Recording();
    Path run = tmp.resolve("run");
    Trainer.Summary s = Trainer.fit(cfg(), inputs(run), Collective.single(), List.of(), null,
        (logs, conf) -> MetricsSink.all(List.of(RunLogs.open(logs, conf), extra)));
    assertEquals(8, s.globalStep(), "64 rows in batches of 16, 2 epochs");
    assertEquals(8, extra.lines.stream().filter(l -> l.startsWith("train ") && l.contains(" train/loss=")).count());
    assertEquals(2, extra.lines.stream().filter(l -> l.startsWith("validation ") && l.contains(" val/mcc=")).count());
    assertTrue(extra.lines.contains("validation 8 val/mcc=" + s.lastMetrics().get("val/mcc")), extra.lines.toString());
    assertTrue(extra.closed, "the run closes its sinks");
    // The default sinks still wrote their files: one JSON line per step and per validation.
    assertEquals(8 + 2, Files.readAllLines(run.resolve("logs/" + RunLogs.METRICS_FILE)).size());
  }

  @Test
  void theTrainerPrintsOnlyThroughTheInstalledReporter() {
    List<String> info = Collections.synchronizedList(new ArrayList<>());
    List<String> warn = Collections.synchronizedList(new ArrayList<>());
    Reporter capture = new Reporter() {
      @Override
      public void info(String line) {
        info.add(line);
      }

      @Override
      public void warn(String line) {
        warn.add(line);
      }
    };
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    PrintStream previous = System.out;
    System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
    try (Console.Restore r = Console.use(capture)) {
      Trainer.fit(cfg("train.epochs=1"), inputs(tmp.resolve("quiet")), Collective.single(), List.of());
    } finally {
      System.setOut(previous);
    }
    assertEquals("", stdout.toString(StandardCharsets.UTF_8), "nothing reaches System.out directly");
    assertTrue(info.stream().anyMatch(l -> l.startsWith("epoch 1/1 done: val/loss")), info.toString());
    assertTrue(warn.isEmpty(), warn.toString());
    assertTrue(Console.reporter() != capture, "closing the handle restores the previous reporter");
  }

  @Test
  void earlyStoppingCountsValidationsWithoutImprovementByMoreThanMinDelta() {
    CheckpointPolicy policy = new CheckpointPolicy(cfg("train.early_stopping.patience=2",
        "train.early_stopping.monitor=val/mcc", "train.early_stopping.mode=max", "train.early_stopping.min_delta=0.01"));
    TrainState state = TrainState.fresh();
    List<String> why = new ArrayList<>();
    assertFalse(policy.shouldStop(state, Map.of("val/mcc", 0.30), why::add));
    assertFalse(policy.shouldStop(state, Map.of("val/mcc", 0.305), why::add), "within min_delta: 1 bad validation");
    assertFalse(policy.shouldStop(state, Map.of("val/mcc", 0.32), why::add), "an improvement resets the count");
    assertEquals(0.32, state.bestMonitored);
    assertFalse(policy.shouldStop(state, Map.of("val/mcc", 0.31), why::add));
    assertFalse(policy.shouldStop(state, Map.of("val/loss", 0.5), why::add), "a validation without the metric");
    assertTrue(policy.shouldStop(state, Map.of("val/mcc", 0.2), why::add));
    assertEquals(List.of("val/mcc has not improved by more than 0.01 for 2 validations (best 0.3200)"), why);

    CheckpointPolicy min = new CheckpointPolicy(cfg("train.early_stopping.patience=1",
        "train.early_stopping.monitor=val/loss", "train.early_stopping.mode=min"));
    TrainState s2 = TrainState.fresh();
    assertFalse(min.shouldStop(s2, Map.of("val/loss", 0.5), why::add));
    assertFalse(min.shouldStop(s2, Map.of("val/loss", 0.4), why::add));
    assertTrue(min.shouldStop(s2, Map.of("val/loss", 0.45), why::add));

    CheckpointPolicy off = new CheckpointPolicy(cfg());
    assertFalse(off.shouldStop(TrainState.fresh(), Map.of("val/mcc", 0.1), why::add), "patience 0 never stops");
    assertEquals("val/mcc", off.monitor());
    assertTrue(off.maximize());
  }
}
