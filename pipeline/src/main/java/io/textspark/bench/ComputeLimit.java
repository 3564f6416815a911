package io.textspark.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.compute.Compute;
import io.textspark.model.ClassifierConfig;
import java.time.Duration;

/**
 * The fp32 compute limit of scoring on this machine: how many rows per second the model's matrix
 * products alone would allow if they ran at the speed of one large fp32 GEMM. It measures GEMM
 * GFLOP/s with PyTorch (DJL) on the given threads, and estimates a row's FLOPs from the encoder's
 * size and the mean token count, so {@code bench-score} can print each side's share of the limit.
 */
public final class ComputeLimit {
  /**
   * The limit and what it is made of.
   *
   * @param gemmGflops measured fp32 GEMM speed, GFLOP/s
   * @param gflopPerRow estimated GFLOP of one row's forward pass
   * @param meanTokens mean tokens per row the estimate is for
   * @param threads threads the GEMM ran on
   */
  public record Result(double gemmGflops, double gflopPerRow, double meanTokens, int threads) {
    /** Rows per second at the measured GEMM speed. */
    public double rowsPerSecond() {
      return gemmGflops / gflopPerRow;
    }

    /** {@code rowsPerSecond} as a share of {@link #rowsPerSecond()}. */
    public double share(double rowsPerSecond) {
      return rowsPerSecond / rowsPerSecond();
    }

    /** The figures as JSON. */
    public JsonObject toJson() {
      JsonObject o = new JsonObject();
      o.addProperty("gemm_gflops", gemmGflops);
      o.addProperty("gflop_per_row", gflopPerRow);
      o.addProperty("mean_tokens", meanTokens);
      o.addProperty("threads", threads);
      o.addProperty("rows_per_second", rowsPerSecond());
      return o;
    }
  }

  /** Rows x inner x outer of the timed product: a batch of 64 CoLA rows through a BERT-small FFN. */
  private static final int M = 768;
  private static final int K = 384;
  private static final int N = 1536;

  private ComputeLimit() {}

  /** Measures GEMM speed on {@code threads} threads for about {@code time}, and the limit for {@code config}. */
  public static Result measure(ClassifierConfig config, double meanTokens, int threads, Duration time) {
    return new Result(gemmGflops(threads, time), flopsPerRow(config, meanTokens) / 1e9, meanTokens, threads);
  }

  /** fp32 GEMM GFLOP/s of PyTorch on the CPU with {@code threads} threads, timed for about {@code time}. */
  public static double gemmGflops(int threads, Duration time) {
    Compute.useThreads(threads);
    try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
      NDArray a = manager.randomUniform(-1f, 1f, new Shape(M, K));
      NDArray b = manager.randomUniform(-1f, 1f, new Shape(K, N));
      for (int i = 0; i < 3; i++) {
        a.dot(b).close();
      }
      long budget = time.toNanos();
      long started = System.nanoTime();
      long elapsed;
      int products = 0;
      do {
        a.dot(b).close();
        products++;
        elapsed = System.nanoTime() - started;
      } while (elapsed < budget);
      return 2.0 * M * K * N * products / (elapsed / 1e9) / 1e9;
    }
  }

  /**
   * FLOPs of one row of {@code tokens} tokens through a BERT-style encoder and head: per layer the
   * Q, K, V and output projections (8 T H²), the feed-forward (4 T H I) and the attention scores and
   * weighted sum (4 T² H); then the pooler and classifier. Layer norms, softmax and GELU are left out.
   */
  public static double flopsPerRow(ClassifierConfig config, double tokens) {
    JsonObject c = JsonParser.parseString(config.toJson()).getAsJsonObject();
    for (String key : new String[] {"hidden_size", "num_hidden_layers", "intermediate_size"}) {
      if (!c.has(key)) {
        throw new TextSparkException("the compute limit needs " + key + " in the model's config.json (a BERT-style"
            + " encoder); model_type " + config.modelType() + " has none.");
      }
    }
    double h = c.get("hidden_size").getAsDouble();
    double layers = c.get("num_hidden_layers").getAsDouble();
    double inner = c.get("intermediate_size").getAsDouble();
    double perLayer = 8 * tokens * h * h + 4 * tokens * h * inner + 4 * tokens * tokens * h;
    return layers * perLayer + 2 * h * h + 2 * h * config.numLabels();
  }
}
