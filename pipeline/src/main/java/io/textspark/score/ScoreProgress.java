package io.textspark.score;

import io.textspark.metrics.TimeLeft;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.Option;
import scala.Tuple4;
import scala.collection.Iterator;

/**
 * Progress lines for a long scoring run, printed on the driver every {@code every}: rows scored so
 * far out of the table's rows, the rate and the time left.
 *
 * <p>Rows come from the scoring tasks' row accumulator. A finished task reports its count with its
 * result; a running task's count so far arrives with its executor's heartbeat ({@code
 * spark.executor.heartbeatInterval}, 10 s by default), so a table scored in a few large partitions
 * still shows progress while they run. A failed task's rows are dropped again (its retry counts
 * them), and a heartbeat that arrives after its task ended is ignored.
 */
public final class ScoreProgress extends SparkListener implements AutoCloseable {
  private final long rowsId;
  private final long taskId;
  private final long total;
  private final int partitions;
  private final long startedNanos;
  private final Map<Long, Long> running = new HashMap<>();
  private final Set<Long> ended = new HashSet<>();
  private long finished;
  private int partitionsDone;
  private long lastDone;
  private long lastChangeNanos;
  private SparkContext context;
  private ScheduledExecutorService ticker;

  /**
   * @param rowsId id of the accumulator the scoring tasks add their rows to
   * @param taskId id of an accumulator every scoring task adds to when it ends (so that a task
   *     with an empty partition is known as one)
   * @param total rows of the table being scored
   * @param partitions partitions (tasks) the table is scored in
   */
  private ScoreProgress(long rowsId, long taskId, long total, int partitions) {
    this.rowsId = rowsId;
    this.taskId = taskId;
    this.total = total;
    this.partitions = partitions;
    this.startedNanos = System.nanoTime();
    this.lastChangeNanos = startedNanos;
  }

  /**
   * Starts printing a line every {@code every} until {@link #close()}; with a zero {@code every}
   * nothing is registered or printed.
   */
  public static ScoreProgress start(SparkContext sc, ScoringPlan plan, long total, int partitions, Duration every,
      PrintStream out) {
    ScoreProgress progress = new ScoreProgress(plan.rowsAccumulatorId(), plan.taskAccumulatorId(), total, partitions);
    if (every.isZero()) {
      return progress;
    }
    progress.context = sc;
    sc.addSparkListener(progress);
    progress.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "textspark-score-progress");
      t.setDaemon(true);
      return t;
    });
    long millis = Math.max(1, every.toMillis());
    progress.ticker.scheduleAtFixedRate(() -> out.println(progress.line()), millis, millis, TimeUnit.MILLISECONDS);
    return progress;
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
    long task = end.taskInfo().taskId();
    Long rows = value(end.taskInfo().accumulables().iterator(), rowsId);
    boolean scoring = rows != null || value(end.taskInfo().accumulables().iterator(), taskId) != null;
    if (!scoring && !running.containsKey(task)) {
      return; // another job's task, or a stage of this job that does not score
    }
    running.remove(task);
    ended.add(task);
    if (scoring && end.reason() == Success$.MODULE$) {
      finished += rows == null ? 0 : rows; // Spark leaves out accumulators a task did not add to
      partitionsDone++;
    }
    changed();
  }

  @Override
  public synchronized void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
    Iterator<Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>>> tasks =
        update.accumUpdates().iterator();
    while (tasks.hasNext()) {
      Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t = tasks.next();
      long task = (Long) t._1();
      Long rows = value(t._4().iterator(), rowsId);
      if (rows != null && !ended.contains(task)) {
        running.put(task, rows);
      }
    }
    changed();
  }

  private void changed() {
    long done = rowsDone();
    if (done != lastDone) {
      lastDone = done;
      lastChangeNanos = System.nanoTime();
    }
  }

  /** Rows scored so far: by finished tasks, plus what running tasks last reported. */
  public synchronized long rowsDone() {
    long done = finished;
    for (long r : running.values()) {
      done += r;
    }
    return done;
  }

  /**
   * The progress line for now, e.g. {@code score: 41,216 of 100,000 rows (41.2%), 1 of 4 partitions
   * done, 402.0 rows/s, about 2m16s left}. The rate is the rows done over the time until they
   * were reported, so a heartbeat that has not come yet does not make it sink; the time left counts
   * from that report.
   */
  public synchronized String line() {
    long done = rowsDone();
    StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "score: %,d of %,d rows (%.1f%%), %d of %d"
        + " partitions done", done, total, total == 0 ? 100.0 : 100.0 * done / total, partitionsDone, partitions));
    double seconds = (lastChangeNanos - startedNanos) / 1e9;
    if (done > 0 && seconds > 0) {
      double rate = done / seconds;
      b.append(String.format(Locale.ROOT, ", %.1f rows/s", rate));
      if (done < total) {
        double since = (System.nanoTime() - lastChangeNanos) / 1e9;
        b.append(", about ").append(TimeLeft.format(Math.max(0, (total - done) / rate - since))).append(" left");
      }
    }
    return b.toString();
  }

  /** Stops the printing and detaches from Spark. */
  @Override
  public void close() {
    if (ticker != null) {
      ticker.shutdownNow();
      context.removeSparkListener(this);
      ticker = null;
    }
  }

  private static Long value(Iterator<AccumulableInfo> infos, long id) {
    while (infos.hasNext()) {
      AccumulableInfo info = infos.next();
      if (info.id() == id) {
        Option<Object> update = info.update();
        return update.isDefined() ? ((Number) update.get()).longValue() : null;
      }
    }
    return null;
  }
}
