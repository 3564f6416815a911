package io.textspark.jobs;

import org.apache.spark.sql.SparkSession;

/** Builds the session the way spark-submit expects: the master and resources come from the submit. */
final class Spark {
  private Spark() {}

  /** The session of this application, named after the command. */
  static SparkSession session(String command) {
    SparkSession spark = SparkSession.builder().appName("textspark " + command).getOrCreate();
    if (System.getenv("TEXTSPARK_LOG_LEVEL") != null) {
      spark.sparkContext().setLogLevel(System.getenv("TEXTSPARK_LOG_LEVEL"));
    }
    return spark;
  }
}
