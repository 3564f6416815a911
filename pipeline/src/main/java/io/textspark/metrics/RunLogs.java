package io.textspark.metrics;

import io.textspark.TextSparkException;
import io.textspark.fs.HadoopPaths;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A training run's default sinks in its {@code logs/} folder: TensorBoard events and {@code metrics.jsonl}. */
public final class RunLogs {
  /** The JSON-lines metrics file inside the logs folder. */
  public static final String METRICS_FILE = "metrics.jsonl";

  private RunLogs() {}

  /**
   * Opens both sinks in {@code dir} on any Hadoop file system. A resumed run appends to the
   * existing {@code metrics.jsonl} and starts a new event file beside the earlier ones.
   */
  public static MetricsSink open(Path dir, Configuration conf) {
    try {
      FileSystem fs = HadoopPaths.fs(dir, conf);
      fs.mkdirs(dir);
      // Event file names have one-second resolution: a run resumed within the same second as the
      // previous attempt needs a suffix so it does not collide with that attempt's file.
      String suffix = "";
      for (int attempt = 1; fs.exists(new Path(dir, TensorBoardWriter.fileName(suffix))); attempt++) {
        suffix = "." + attempt;
      }
      TensorBoardWriter tensorboard = new TensorBoardWriter(name -> fs.create(new Path(dir, name), false), suffix);
      Path metrics = new Path(dir, METRICS_FILE);
      byte[] previous = fs.exists(metrics) ? HadoopPaths.readBytes(metrics, conf) : new byte[0];
      OutputStream out = fs.create(metrics, true);
      out.write(previous); // append without relying on append support (S3A has none)
      return MetricsSink.all(List.of(tensorboard, new MetricsLog(out)));
    } catch (IOException e) {
      throw new TextSparkException("cannot write the run's logs under " + dir + ": " + e.getMessage()
          + ". Choose a writable train.output_dir.", e);
    }
  }
}
