package io.textspark.tune;

import io.textspark.config.TextSparkConfig;
import io.textspark.testing.ChildJvm;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * A tune in a child JVM on local[2], for tests that kill it half way:
 * {@code KilledTune <conf file> [key=value ...]}.
 */
final class KilledTune {
  private KilledTune() {}

  /** Starts the tune in a child JVM with this JVM's classpath and module flags. */
  static ChildJvm start(List<String> args, Path log) {
    List<String> options = new ArrayList<>(List.of("-Xmx1g"));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-") || a.startsWith("-D") || a.startsWith("--enable-native")
          || a.startsWith("-XX:+IgnoreUnrecognized")) {
        options.add(a);
      }
    }
    return ChildJvm.start("tune", System.getProperty("java.class.path"), options, KilledTune.class.getName(), args,
        Map.of(), log);
  }

  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().master("local[2]").appName("killed-tune")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    TuneJob.run(spark, TextSparkConfig.load(List.of(args[0]), List.of(args).subList(1, args.length)));
    spark.stop();
  }
}
