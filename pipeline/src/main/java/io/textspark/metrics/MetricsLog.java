package io.textspark.metrics;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Appends one JSON object per line to a metrics log such as {@code metrics.jsonl}, for example
 * {@code {"step":10,"epoch":0,"split":"train","loss":0.5}}.
 *
 * <p>NaN and infinite values are written as {@code null}, because JSON has no such numbers and
 * strict readers reject the bare {@code NaN} that some writers emit.
 */
public final class MetricsLog implements MetricsSink {
  // Without serializeNulls Gson would drop the keys of non-finite values altogether.
  private final Gson gson = new GsonBuilder().serializeNulls().create();
  private final Writer writer;

  /** Writes lines to out, which the caller opened on any file system (in append mode to extend). */
  public MetricsLog(OutputStream out) {
    this.writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
  }

  /** Writes the step, epoch and split followed by values, in values' order, as one line. */
  public void log(long step, int epoch, String split, Map<String, ? extends Number> values) {
    JsonObject line = new JsonObject();
    line.addProperty("step", step);
    line.addProperty("epoch", epoch);
    line.addProperty("split", split);
    for (Map.Entry<String, ? extends Number> e : values.entrySet()) {
      Number v = e.getValue();
      boolean finite = v != null && Double.isFinite(v.doubleValue());
      if (finite) {
        line.addProperty(e.getKey(), v);
      } else {
        line.add(e.getKey(), JsonNull.INSTANCE);
      }
    }
    write(line);
  }

  @Override
  public void scalars(Map<String, Double> values, long step, int epoch, String split) {
    log(step, epoch, split, values);
  }

  /** Writes an arbitrary record, for example run metadata, as one line. */
  public void log(JsonObject record) {
    write(record);
  }

  /** Flushes and closes the log. */
  @Override
  public void close() {
    try {
      writer.close();
    } catch (IOException e) {
      throw failure(e);
    }
  }

  private void write(JsonObject line) {
    try {
      writer.write(gson.toJson(line));
      writer.write('\n');
      // A crashed job should still leave every line logged so far.
      writer.flush();
    } catch (IOException e) {
      throw failure(e);
    }
  }

  private static TextSparkException failure(IOException e) {
    return new TextSparkException(
        "cannot write the metrics log (" + e.getMessage()
            + "); check that the output directory is writable and its disk is not full.", e);
  }
}
