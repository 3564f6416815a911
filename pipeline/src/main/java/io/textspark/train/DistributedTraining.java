package io.textspark.train;

import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.batch.Examples;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.CollectiveException;
import io.textspark.collective.RingCollective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
import io.textspark.metrics.MetricsSink;
import io.textspark.model.PretrainedModel;
import io.textspark.model.Safetensors;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.TaskKilled;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;

/**
 * Training with {@code train.workers} = N &gt; 1: one Spark barrier stage of N tasks, each a worker
 * with its own model replica, summing gradients over a TCP ring.
 *
 * <p>On the driver: checks that N task slots exist and dynamic allocation is off; collects the
 * tokenized training and validation sets and broadcasts them with the pretrained weights (every
 * worker holds the whole training set and plans the same global batches, see {@link StepPlan});
 * runs the stage. When the stage fails (a worker's error, a lost executor, a collective timeout) it
 * waits until every task of the failed attempt has ended, then runs the stage again from the last
 * checkpoint the run committed, up to {@code train.max_restarts} times, saying so on the console.
 * Plans depend only on (seed, epoch, global batch size) and checkpoints hold the position in the
 * epoch, so the steps since that checkpoint are recomputed exactly and none is skipped or applied
 * twice. A restart that finds fewer task slots than N continues with as many workers as there are
 * slots, down to {@code train.min_workers}: the global batch, and so the model, stays the same.
 */
public final class DistributedTraining {
  /** How long a cluster run waits for executors to register before it gives up on the slot check. */
  static final Duration SLOT_WAIT = Duration.ofSeconds(90);
  private static final Pattern WORKER_ERROR =
      Pattern.compile("(?m)^(io\\.textspark\\.[\\w.$]+|org\\.apache\\.spark\\.TaskKilledException"
          + "|[\\w.$]+(?:Exception|Error))(?:: (.*))?$");

  private DistributedTraining() {}

  /** Runs the barrier stage, restarting it from the last checkpoint on failure; returns rank 0's summary. */
  public static Trainer.Summary run(SparkSession spark, TextSparkConfig config, PretrainedModel pretrained,
      Dataset<Row> train, Dataset<Row> validation, Path outputDir, MetricsSink.Factory sinks) {
    return run(spark, config, pretrained, train, validation, outputDir, sinks, 0);
  }

  /**
   * The same run, paused after the validation number {@code pauseAt} of the whole run (0: never),
   * as {@link Trainer.Listener#pauseAfterValidation} pauses one; the tuner trains a multi-worker
   * trial rung by rung this way.
   */
  public static Trainer.Summary run(SparkSession spark, TextSparkConfig config, PretrainedModel pretrained,
      Dataset<Row> train, Dataset<Row> validation, Path outputDir, MetricsSink.Factory sinks, int pauseAt) {
    SparkContext sc = spark.sparkContext();
    return run(spark, config, pretrained, train, validation, outputDir, sinks, () -> taskSlots(sc), pauseAt);
  }

  /**
   * {@link #run(SparkSession, TextSparkConfig, PretrainedModel, Dataset, Dataset, Path, MetricsSink.Factory)} counting
   * task slots with {@code taskSlots}, so tests can make a restart find fewer slots.
   */
  static Trainer.Summary run(SparkSession spark, TextSparkConfig config, PretrainedModel pretrained,
      Dataset<Row> train, Dataset<Row> validation, Path outputDir, MetricsSink.Factory sinks, IntSupplier taskSlots) {
    return run(spark, config, pretrained, train, validation, outputDir, sinks, taskSlots, 0);
  }

  private static Trainer.Summary run(SparkSession spark, TextSparkConfig config, PretrainedModel pretrained,
      Dataset<Row> train, Dataset<Row> validation, Path outputDir, MetricsSink.Factory sinks, IntSupplier taskSlots,
      int pauseAt) {
    TrainConfig cfg = config.train();
    int workers = cfg.workers();
    SparkContext sc = spark.sparkContext();
    Configuration conf = sc.hadoopConfiguration();
    int slots = checkCluster(sc.getConf(), sc.master(), taskSlots, workers, workers, SLOT_WAIT);

    // Tokenized sets are small (CoLA: about 1 MB of token ids): every worker holds the whole
    // training set, so a step's global batch can be planned the same way whatever the workers.
    Examples trainSet = Examples.fromRows(columns(train).toLocalIterator(), "training set");
    Examples validationSet = Examples.fromRows(columns(validation).toLocalIterator(), "validation set");
    if (validationSet.size() < workers) {
      throw new TextSparkException("train.workers = " + workers + " needs at least one validation row per worker,"
          + " but there are " + validationSet.size() + ". Lower train.workers.");
    }
    if (outputDir.toUri().getScheme() != null && outputDir.toUri().getScheme().equals("file")
        && !sc.master().startsWith("local")) {
      Console.info("train: warning: train.output_dir " + outputDir + " is on the local file system; with"
          + " executors on other machines, checkpoints must go to a shared file system (hdfs://, s3a://, ...).");
    }

    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Safetensors.write(bytes, pretrained.weights(), Map.of());
    Broadcast<byte[]> weights = sc.broadcast(bytes.toByteArray(), ClassTag.apply(byte[].class));
    Broadcast<Examples> trainRows = sc.broadcast(trainSet, ClassTag.apply(Examples.class));
    Broadcast<Examples> validationRows = sc.broadcast(validationSet, ClassTag.apply(Examples.class));
    CheckpointStore store = new CheckpointStore(new Path(outputDir, "checkpoints"), conf);
    Set<String> before = new HashSet<>();
    store.list().forEach(c -> before.add(c.path().toString()));
    String start = cfg.resumeFrom().isEmpty() ? ""
        : store.resolve(cfg.resumeFrom(), cfg.checkpoint().monitor(), cfg.checkpoint().mode()).path().toString();
    Console.info("train: %d workers in one barrier stage (%s, %d task slots), each holding all %d"
        + " training rows, global batch %d, collective timeout %s, up to %d restarts%s", workers, sc.master(), slots,
        trainSet.size(), Trainer.globalBatch(cfg), RingCollective.format(cfg.collectiveTimeout()), cfg.maxRestarts(),
        cfg.minWorkers() < workers ? " with at least " + cfg.minWorkers() + " workers (train.min_workers)" : "");
    try {
      String resume = start;
      int running = workers;
      for (int attempt = 0; ; attempt++) {
        String group = "textspark-train-" + UUID.randomUUID();
        BarrierTasks tasks = new BarrierTasks(group);
        sc.addSparkListener(tasks);
        sc.setJobGroup(group, "textspark train: " + running + " workers, attempt " + (attempt + 1), true);
        try {
          TrainWorker worker = new TrainWorker(cfg.withResumeFrom(resume), trainRows, validationRows, weights,
              pretrained.config(), pretrained.tokenizerJson(), pretrained.reference(), config.renderedJson(),
              outputDir, conf, ThreadLocalRandom.current().nextLong(), attempt, sinks, pauseAt);
          // One task per worker; the tasks take their data from the broadcasts, not from the partitions.
          List<Integer> ranks = IntStream.range(0, running).boxed().toList();
          List<String> out = JavaSparkContext.fromSparkContext(sc).parallelize(ranks, running).rdd().barrier()
              .mapPartitions(worker, false, ClassTag.apply(String.class)).toJavaRDD().collect();
          if (out.size() != 1) {
            throw new IllegalStateException("expected rank 0's summary, got " + out.size() + " results");
          }
          return Trainer.Summary.fromJson(JsonParser.parseString(out.get(0)).getAsJsonObject());
        } catch (Exception e) {
          tasks.awaitNoneRunning(cfg.collectiveTimeout().plusSeconds(30));
          // Spark reports whichever task failed first; a worker's own error explains more than the
          // "peer closed the connection" its neighbours report a moment later.
          String reason = tasks.rootCause().orElse(reason(e));
          if (!restartable(fullMessage(e)) || !tasks.failures().stream().allMatch(DistributedTraining::restartable)) {
            throw new TextSparkException(reason, e);
          }
          if (attempt >= cfg.maxRestarts()) {
            throw new TextSparkException("training failed and was restarted " + attempt + " time(s), the most"
                + " train.max_restarts = " + cfg.maxRestarts() + " allows. Last failure: " + reason + ". Fix the cause"
                + " and continue with train.resume_from=last.", e);
          }
          Console.info("train: the barrier stage failed: " + reason);
          running = Math.min(workers, checkCluster(sc.getConf(), sc.master(), taskSlots, workers, cfg.minWorkers(),
              SLOT_WAIT));
          if (running < workers) {
            Console.info("train: only %d task slot(s) now, fewer than train.workers = %d: continuing"
                + " with %d workers (train.min_workers = %d), each running %d micro-batch(es) of at most %d rows; the"
                + " global batch stays %d rows, so the model is the same", running, workers, running,
                cfg.minWorkers(), StepPlan.microBatchesPerStep(Trainer.globalBatch(cfg), running, cfg.batchSize()),
                cfg.batchSize(), Trainer.globalBatch(cfg));
          }
          Optional<Checkpoint> last = store.last().filter(c -> !before.contains(c.path().toString())
              || c.path().toString().equals(start));
          resume = last.map(c -> c.path().toString()).orElse(start);
          Console.info("train: restart %d of %d (train.max_restarts) from %s", attempt + 1,
              cfg.maxRestarts(), resume.isEmpty() ? "the beginning (no checkpoint committed yet)"
                  : "checkpoint " + resume + last.map(c -> " (step " + c.globalStep() + ")").orElse(""));
        } finally {
          sc.clearJobGroup();
          sc.removeSparkListener(tasks);
        }
      }
    } finally {
      weights.destroy();
      trainRows.destroy();
      validationRows.destroy();
    }
  }

  /**
   * Fails fast, naming the fix, unless the application has at least {@code workers} task slots and
   * a fixed set of executors; on a cluster it waits up to {@code wait} for executors to register.
   * Returns the number of slots.
   */
  static int checkCluster(SparkContext sc, int workers, Duration wait) {
    return checkCluster(sc.getConf(), sc.master(), () -> taskSlots(sc), workers, wait);
  }

  /** {@link #checkCluster(SparkContext, int, Duration)} on a configuration and a slot count, for tests. */
  static int checkCluster(SparkConf conf, String master, IntSupplier taskSlots, int workers, Duration wait) {
    return checkCluster(conf, master, taskSlots, workers, workers, wait);
  }

  /**
   * Waits as {@link #checkCluster(SparkContext, int, Duration)} does for {@code workers} task slots,
   * but is content with {@code minWorkers} once the wait is over; returns the number of slots.
   */
  static int checkCluster(
      SparkConf conf, String master, IntSupplier taskSlots, int workers, int minWorkers, Duration wait) {
    if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
      throw new TextSparkException("train.workers = " + workers + " runs a barrier stage, which needs a fixed set of"
          + " executors, but dynamic allocation is on. Submit with --conf spark.dynamicAllocation.enabled=false.");
    }
    boolean local = master.startsWith("local");
    long deadline = System.nanoTime() + (local ? 0 : wait.toNanos());
    int slots = taskSlots.getAsInt();
    boolean told = false;
    while (slots < workers && System.nanoTime() < deadline) {
      if (!told) {
        Console.info("train: waiting up to " + wait.toSeconds() + " s for " + workers + " task slots ("
            + slots + " now)");
        told = true;
      }
      sleep(1000);
      slots = taskSlots.getAsInt();
    }
    if (slots < minWorkers && minWorkers < workers) {
      throw new TextSparkException("train.workers = " + workers + " could continue with as few as train.min_workers = "
          + minWorkers + " workers, but " + master + " offers " + slots + " task slot(s) (executor cores /"
          + " spark.task.cpus = " + conf.get("spark.task.cpus", "1") + "). Give the application more executors or"
          + " cores, or lower train.min_workers, and continue with train.resume_from=last.");
    }
    if (slots < minWorkers) {
      String fix = local
          ? "Run with --master local[" + workers + "] or more (local[*] gives one slot per core), or lower train.workers."
          : "Give the application more executors or cores (--num-executors, --executor-cores, --total-executor-cores),"
              + " or lower train.workers.";
      throw new TextSparkException("train.workers = " + workers + " needs " + workers + " task slots, one per worker"
          + " (a barrier stage starts all its tasks at once), but " + master + " offers " + slots + " (executor"
          + " cores / spark.task.cpus = " + conf.get("spark.task.cpus", "1") + "). " + fix);
    }
    return slots;
  }

  /** Tasks the application can run at once, as the barrier scheduler counts them. */
  public static int taskSlots(SparkContext sc) {
    return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
  }

  /** The columns training reads, so the driver collects no more than it needs. */
  private static Dataset<Row> columns(Dataset<Row> rows) {
    return rows.select("idx", "label", "domain", "input_ids");
  }

  /** Whether a failure is worth a restart: anything but a textspark error the user has to fix (bad data or settings). */
  static boolean restartable(Throwable e) {
    return restartable(fullMessage(e));
  }

  /** {@link #restartable(Throwable)} on a failure's text. */
  static boolean restartable(String failure) {
    Matcher m = WORKER_ERROR.matcher(failure);
    while (m.find()) {
      String type = m.group(1);
      if (type.equals(TextSparkException.class.getName()) || type.equals("io.textspark.config.ConfigError")) {
        return false;
      }
    }
    return true;
  }

  /** The worker's own error line from Spark's stage failure, else the failure's first line. */
  static String reason(Throwable e) {
    return reason(fullMessage(e));
  }

  /** {@link #reason(Throwable)} on a failure's text. */
  static String reason(String all) {
    Matcher m = WORKER_ERROR.matcher(all);
    String fallback = null;
    while (m.find()) {
      if (m.group(1).startsWith("io.textspark.") && m.group(2) != null) {
        return m.group(2).trim();
      }
      if (fallback == null && m.group(2) != null && !m.group(1).equals("org.apache.spark.SparkException")) {
        fallback = m.group(1) + ": " + m.group(2).trim();
      }
    }
    int lost = all.indexOf("ExecutorLostFailure");
    if (lost >= 0) {
      int end = all.indexOf('\n', lost);
      return all.substring(lost, end < 0 ? all.length() : end).trim();
    }
    if (fallback != null) {
      return fallback;
    }
    String first = all.strip();
    int nl = first.indexOf('\n');
    return nl < 0 ? first : first.substring(0, nl);
  }

  private static String fullMessage(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      sb.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
    }
    return sb.toString();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TextSparkException("interrupted while waiting for the cluster", e);
    }
  }

  /**
   * Counts the running tasks of one job group, so that a restart waits until every task of the
   * failed attempt has ended: a straggling rank 0 could otherwise still commit a checkpoint (and
   * prune older ones) while the next attempt resumes.
   */
  private static final class BarrierTasks extends SparkListener {
    private final String group;
    private final Set<Integer> stages = ConcurrentHashMap.newKeySet();
    private final AtomicInteger running = new AtomicInteger();
    private final List<String> failures = new CopyOnWriteArrayList<>();

    BarrierTasks(String group) {
      this.group = group;
    }

    @Override
    public void onJobStart(SparkListenerJobStart event) {
      Properties p = event.properties();
      if (p != null && group.equals(p.getProperty("spark.jobGroup.id"))) {
        for (Object id : CollectionConverters.asJava(event.stageIds())) {
          stages.add((Integer) id);
        }
      }
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart event) {
      if (stages.contains(event.stageId())) {
        running.incrementAndGet();
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd event) {
      if (stages.contains(event.stageId())) {
        running.decrementAndGet();
        // Tasks the stage's abort killed say nothing about why it failed.
        if (event.reason() instanceof TaskFailedReason r && !(r instanceof TaskKilled)) {
          failures.add(r.toErrorString());
        }
      }
    }

    /** Why the attempt's tasks failed, as Spark describes each, in the order they ended. */
    List<String> failures() {
      return failures;
    }

    /**
     * The failure most likely to be the cause: a worker's own error or a lost executor rather than
     * a worker that only saw its neighbour's connection close.
     */
    Optional<String> rootCause() {
      for (String f : failures) {
        if (!f.contains(CollectiveException.class.getName())) {
          return Optional.of(reason(f));
        }
      }
      return failures.isEmpty() ? Optional.empty() : Optional.of(reason(failures.get(0)));
    }

    void awaitNoneRunning(Duration limit) {
      long deadline = System.nanoTime() + limit.toNanos();
      int quiet = 0;
      // Two quiet polls in a row: listener events arrive asynchronously, a little after the fact.
      while (quiet < 2 && System.nanoTime() < deadline) {
        quiet = running.get() <= 0 ? quiet + 1 : 0;
        sleep(250);
      }
      if (running.get() > 0) {
        Console.info("train: warning: " + running.get() + " task(s) of the failed attempt still run after "
            + limit.toSeconds() + " s; restarting anyway");
      }
    }
  }
}
