package io.textspark.testing;

import org.apache.spark.sql.SparkSession;

/**
 * The one Spark session every test shares: {@code local[2]}, UI off, failures not retried, and
 * short barrier timeouts, so a broken test fails fast instead of hanging; heartbeats every second.
 */
public final class SharedSpark {
  private static SparkSession session;

  private SharedSpark() {}

  /** The shared session, created on first use and stopped when the test JVM exits. */
  public static synchronized SparkSession get() {
    if (session == null) {
      session = SparkSession.builder()
          .master("local[2]")
          .appName("textspark-tests")
          .config("spark.ui.enabled", "false")
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.driver.bindAddress", "127.0.0.1")
          .config("spark.sql.shuffle.partitions", "2")
          .config("spark.default.parallelism", "2")
          .config("spark.stage.maxConsecutiveAttempts", "1")
          .config("spark.task.maxFailures", "1")
          .config("spark.barrier.sync.timeout", "60s")
          // Running tasks report their accumulators with each heartbeat; score progress tests wait for one.
          .config("spark.executor.heartbeatInterval", "1s")
          .config("spark.sql.session.timeZone", "UTC")
          .getOrCreate();
      session.sparkContext().setLogLevel("WARN");
      Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
    }
    return session;
  }
}
