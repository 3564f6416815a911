package io.textspark.train;

import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.CollectiveException;
import io.textspark.collective.RingCollective;
import io.textspark.config.TextSparkConfig;
import io.textspark.config.TrainConfig;
import io.textspark.console.Console;
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
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.TaskKilled;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;

/**
 * Training with {@code train.workers} = N &gt; 1: one Spark barrier stage of N tasks, each a worker
 * with its own model replica and its own shard of the data, summing gradients over a TCP ring.
 *
 * <p>On the driver: checks that N task slots exist and dynamic allocation is off; deals the
 * tokenized training and validation rows into N shards (row p in idx order goes to shard p mod N)
 * with one shuffle, so each task reads only its own rows; broadcasts the pretrained weights; runs
 * the stage. When the stage fails (a worker's error, a lost executor, a collective timeout) it
 * waits until every task of the failed attempt has ended, then runs the stage again from the last
 * checkpoint the run committed, up to {@code train.max_restarts} times, saying so on the console.
 * Plans depend only on (seed, epoch, shard) and checkpoints hold the position in the epoch, so the
 * steps since that checkpoint are recomputed exactly and none is skipped or applied twice.
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
      Dataset<Row> train, Dataset<Row> validation, Path outputDir) {
    TrainConfig cfg = config.train();
    int workers = cfg.workers();
    SparkContext sc = spark.sparkContext();
    Configuration conf = sc.hadoopConfiguration();
    int slots = checkCluster(sc, workers, SLOT_WAIT);

    long trainRows = train.count();
    long validationRows = validation.count();
    if (trainRows < workers || validationRows < workers) {
      throw new TextSparkException("train.workers = " + workers + " needs at least one training and one validation"
          + " row per worker, but there are " + trainRows + " training and " + validationRows + " validation rows."
          + " Lower train.workers.");
    }
    if (trainRows > Integer.MAX_VALUE) {
      throw new TextSparkException("the training set has " + trainRows + " rows; at most " + Integer.MAX_VALUE
          + " are supported");
    }
    JavaRDD<ShardRow> shards = shard(train, workers, false).union(shard(validation, workers, true)).values();
    if (shards.getNumPartitions() != workers) {
      throw new IllegalStateException("expected " + workers + " partitions, got " + shards.getNumPartitions());
    }
    if (outputDir.toUri().getScheme() != null && outputDir.toUri().getScheme().equals("file")
        && !sc.master().startsWith("local")) {
      Console.info("train: warning: train.output_dir " + outputDir + " is on the local file system; with"
          + " executors on other machines, checkpoints must go to a shared file system (hdfs://, s3a://, ...).");
    }

    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Safetensors.write(bytes, pretrained.weights(), Map.of());
    Broadcast<byte[]> weights = sc.broadcast(bytes.toByteArray(), ClassTag.apply(byte[].class));
    CheckpointStore store = new CheckpointStore(new Path(outputDir, "checkpoints"), conf);
    Set<String> before = new HashSet<>();
    store.list().forEach(c -> before.add(c.path().toString()));
    String start = cfg.resumeFrom().isEmpty() ? ""
        : store.resolve(cfg.resumeFrom(), cfg.checkpoint().monitor(), cfg.checkpoint().mode()).path().toString();
    Console.info("train: %d workers in one barrier stage (%s, %d task slots), shards of %d-%d"
        + " training rows, collective timeout %s, up to %d restarts", workers, sc.master(), slots,
        trainRows / workers, (trainRows + workers - 1) / workers, RingCollective.format(cfg.collectiveTimeout()),
        cfg.maxRestarts());
    try {
      String resume = start;
      for (int attempt = 0; ; attempt++) {
        String group = "textspark-train-" + UUID.randomUUID();
        BarrierTasks tasks = new BarrierTasks(group);
        sc.addSparkListener(tasks);
        sc.setJobGroup(group, "textspark train: " + workers + " workers, attempt " + (attempt + 1), true);
        try {
          TrainWorker worker = new TrainWorker(cfg.withResumeFrom(resume), (int) trainRows, weights,
              pretrained.config(), pretrained.tokenizerJson(), pretrained.reference(), config.renderedJson(),
              outputDir, conf, ThreadLocalRandom.current().nextLong(), attempt);
          List<String> out = shards.rdd().barrier()
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
          checkCluster(sc, workers, SLOT_WAIT);
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
    if (slots < workers) {
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
  static int taskSlots(SparkContext sc) {
    return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
  }

  /** Rows keyed and partitioned by shard: row p of the idx order goes to partition p mod shards. */
  private static JavaPairRDD<Integer, ShardRow> shard(Dataset<Row> rows, int shards, boolean validation) {
    return rows.select("idx", "label", "domain", "input_ids").sort("idx").javaRDD().zipWithIndex()
        .mapToPair(t -> new Tuple2<>(Sharding.shardOf(t._2(), shards), ShardRow.of(t._1(), validation)))
        .partitionBy(new ShardPartitioner(shards));
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

  /** Sends shard s to partition s (a hash partitioner would not map N keys onto N partitions one to one). */
  static final class ShardPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int shards;

    ShardPartitioner(int shards) {
      this.shards = shards;
    }

    @Override
    public int numPartitions() {
      return shards;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ShardPartitioner p && p.shards == shards;
    }

    @Override
    public int hashCode() {
      return shards;
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
