package io.textspark.tracking;

import io.textspark.config.TrackingConfig;
import io.textspark.console.Console;
import io.textspark.fs.HadoopPaths;
import io.textspark.metrics.MetricsSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.tracking.MlflowHttpException;

/**
 * A training run as an MLflow run. The training thread only queues: one background sender creates
 * (or continues) the run, logs its parameters and tags, sends metrics with log-batch every few
 * seconds and on {@link #flush()}, and at the end uploads the best checkpoint and sets the status.
 * The first failure (server down, an error, a timeout) prints one warning and turns tracking off
 * for the rest of the run; {@link #close()} waits at most {@code tracking.mlflow.timeout} for a
 * server that stopped answering.
 */
public final class MlflowSink implements MetricsSink {
  /** The file in the run's logs folder that holds its MLflow run ID, so a resumed run continues it. */
  public static final String RUN_ID_FILE = "mlflow_run_id";
  static final int QUEUE = 100_000;
  private static final long SEND_EVERY_MS = 5_000;

  private final MlflowTracking tracking;
  private final TrackingConfig cfg;
  private final RunDescription run;
  private final Path logs;
  private final Configuration conf;
  private final BlockingQueue<Metric> queue = new ArrayBlockingQueue<>(QUEUE);
  private final AtomicBoolean failed = new AtomicBoolean();
  private final AtomicBoolean dropped = new AtomicBoolean();
  private final Thread sender;
  private volatile boolean flushRequested;
  private volatile boolean closing;
  private volatile String bestCheckpoint;
  private volatile long lastProgress = System.nanoTime();
  private volatile String runId;

  MlflowSink(MlflowTracking tracking, TrackingConfig cfg, RunDescription run, Path logs, Configuration conf) {
    this.tracking = tracking;
    this.cfg = cfg;
    this.run = run;
    this.logs = logs;
    this.conf = conf;
    this.sender = new Thread(this::send, "textspark-mlflow");
    sender.setDaemon(true);
    sender.start();
  }

  /** The MLflow run ID once the run exists on the server, else null. */
  public String runId() {
    return runId;
  }

  @Override
  public void scalars(Map<String, Double> values, long step, int epoch, String split) {
    if (failed.get()) {
      return;
    }
    long now = System.currentTimeMillis();
    for (Map.Entry<String, Double> e : values.entrySet()) {
      if (!queue.offer(MlflowTracking.metric(e.getKey(), e.getValue(), now, step)) && !dropped.getAndSet(true)) {
        Console.warn("tracking: MLflow at %s is slower than training; metrics beyond %d waiting are dropped",
            cfg.uri(), QUEUE);
      }
    }
  }

  @Override
  public void flush() {
    flushRequested = true;
  }

  @Override
  public void finished(String best) {
    bestCheckpoint = best;
  }

  @Override
  public void close() {
    closing = true;
    long timeout = cfg.timeout().toNanos();
    long closeStarted = System.nanoTime();
    try {
      while (sender.isAlive()) {
        // A server that answers keeps the run waiting for the rest (a large checkpoint upload); one
        // that stopped answering costs at most one timeout in all.
        long deadline = Math.max(lastProgress, closeStarted) + timeout;
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          fail("it did not answer within tracking.mlflow.timeout = " + cfg.timeout().toSeconds() + "s", null);
          break;
        }
        sender.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)))));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      tracking.close(); // aborts a request still in flight
    }
  }

  private void send() {
    try {
      runId = openRun();
      List<Metric> batch = new ArrayList<>();
      long lastSent = System.currentTimeMillis();
      while (!failed.get()) {
        Metric m = queue.poll(200, TimeUnit.MILLISECONDS);
        if (m != null) {
          batch.add(m);
          queue.drainTo(batch, MlflowTracking.BATCH_METRICS - batch.size());
        }
        boolean last = closing && queue.isEmpty();
        if (!batch.isEmpty() && (batch.size() >= MlflowTracking.BATCH_METRICS || flushRequested || last
            || System.currentTimeMillis() - lastSent >= SEND_EVERY_MS)) {
          tracking.logMetrics(runId, batch);
          progress();
          batch.clear();
          lastSent = System.currentTimeMillis();
        }
        if (queue.isEmpty() && batch.isEmpty()) {
          flushRequested = false;
        }
        if (last && batch.isEmpty()) {
          end();
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      fail(e.getMessage(), e);
    }
  }

  /** Continues the run whose ID the logs folder holds, or starts one and records its ID there. */
  private String openRun() {
    String previous = readRunId();
    if (previous != null) {
      try {
        tracking.resumeRun(previous);
        progress();
        Console.info("tracking: continuing MLflow run %s at %s", previous, cfg.uri());
        return previous;
      } catch (MlflowHttpException e) {
        if (e.getStatusCode() != 404) {
          throw e;
        }
        Console.info("tracking: MLflow run %s (from %s) is not on %s; starting a new run", previous,
            new Path(logs, RUN_ID_FILE), cfg.uri());
      }
    }
    String name = cfg.runName().isEmpty() ? run.name() : cfg.runName();
    String id = tracking.startRun(name, cfg.parentRunId(), run.tags());
    progress();
    writeRunId(id);
    tracking.logParams(id, run.params());
    progress();
    Console.info("tracking: MLflow run %s (%s) in experiment %s at %s", id, name, cfg.experiment(), cfg.uri());
    return id;
  }

  private void end() {
    String best = bestCheckpoint;
    if (best != null && !best.isEmpty()) {
      tracking.setTags(runId, Map.of("textspark.best_checkpoint", best));
      if (tracking.uploadArtifacts(runId, new Path(best), "checkpoint", conf)) {
        progress();
      }
    }
    tracking.endRun(runId, best != null ? "FINISHED" : "FAILED");
    progress();
  }

  private void fail(String reason, Throwable e) {
    if (!failed.getAndSet(true)) {
      Console.warn("tracking: MLflow at %s failed (%s); training goes on without tracking%s", cfg.uri(),
          reason == null && e != null ? e.getClass().getSimpleName() : oneLine(reason),
          runId == null ? "" : " (run " + runId + " stays incomplete)");
    }
  }

  private void progress() {
    lastProgress = System.nanoTime();
  }

  private String readRunId() {
    Path file = new Path(logs, RUN_ID_FILE);
    try {
      FileSystem fs = HadoopPaths.fs(file, conf);
      if (!fs.exists(file)) {
        return null;
      }
      String id = new String(HadoopPaths.readBytes(file, conf), StandardCharsets.UTF_8).trim();
      return id.matches("[A-Za-z0-9_-]{1,64}") ? id : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** Writes the run ID beside the other logs, atomically (a hidden file renamed into place). */
  private void writeRunId(String id) {
    Path file = new Path(logs, RUN_ID_FILE);
    Path staged = new Path(logs, "." + RUN_ID_FILE + ".tmp");
    try {
      FileSystem fs = HadoopPaths.fs(file, conf);
      try (OutputStream out = fs.create(staged, true)) {
        out.write((id + "\n").getBytes(StandardCharsets.UTF_8));
      }
      fs.delete(file, false);
      if (!fs.rename(staged, file)) {
        throw new IOException("rename to " + file + " returned false");
      }
    } catch (IOException e) {
      Console.warn("tracking: cannot record the MLflow run ID in %s (%s); a resumed run will start a new MLflow run",
          file, e.getMessage());
    }
  }

  private static String oneLine(String s) {
    return s == null ? "no message" : MlflowTracking.cut(s.replaceAll("\\s+", " ").trim(), 300);
  }
}
