package io.textspark.serve;

import io.textspark.checkpoint.DefaultModel;
import io.textspark.config.ScoreConfig;
import io.textspark.config.ServeConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.inference.Engine;
import io.textspark.inference.InferenceSettings;
import io.textspark.inference.Predictor;
import java.io.PrintStream;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * The {@code serve} command without its process handling: reads the API keys, loads the model of the
 * {@code score} section (so a model that cannot be loaded fails before the port opens), opens the
 * port, warms the model up and reports ready.
 */
public final class ServeJob {
  private ServeJob() {}

  /** A running server and the predictor it owns. */
  public static final class Running implements AutoCloseable {
    private final PredictionServer server;
    private final Predictor predictor;
    private final ServeConfig config;

    private Running(PredictionServer server, Predictor predictor, ServeConfig config) {
      this.server = server;
      this.predictor = predictor;
      this.config = config;
    }

    /** The server. */
    public PredictionServer server() {
      return server;
    }

    /** Stops gracefully within {@code serve.shutdown_timeout}, then releases the model. */
    @Override
    public void close() {
      try {
        server.stop(config.shutdownTimeout());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        predictor.close();
      }
    }
  }

  /** Starts the server of {@code config}, printing where it listens to {@code out}; returns once it is ready. */
  public static Running start(TextSparkConfig config, PrintStream out) {
    ScoreConfig s = config.score();
    ServeConfig serve = config.serve();
    ApiKeys keys = ApiKeys.load(serve.apiKeysFile(), System.getenv(ApiKeys.ENV));
    Configuration conf = new Configuration();
    String reference = DefaultModel.reference(s.model(), config.train(), conf);
    // Each inference thread runs its own model call, so the cores are shared out between them.
    int torchThreads = s.threads() > 0 ? s.threads()
        : Math.max(1, Runtime.getRuntime().availableProcessors() / serve.threads());
    InferenceSettings settings =
        new InferenceSettings(s.maxLength(), s.batchSize(), s.device(), torchThreads, s.engine());
    Predictor predictor = Predictor.load(reference, config.model(), settings, conf);
    PredictionServer server;
    try {
      server = new PredictionServer(predictor, serve, s.scoreLabel(), keys).start();
    } catch (RuntimeException e) {
      predictor.close();
      throw e;
    }
    out.printf(Locale.ROOT, "serve: model %s (max_length %d, labels %s) on http://%s:%d, engine %s, %d inference"
        + " threads x %d %s threads, batches up to %d texts / %d ms, API keys %s%n", predictor.reference(),
        predictor.maxLength(), predictor.labels(), serve.host(), server.port(), predictor.engine().label(),
        serve.threads(), torchThreads, predictor.engine() == Engine.ONNXRUNTIME ? "ONNX Runtime" : "PyTorch",
        serve.maxBatch(), serve.maxWait().toMillis(), keys.required() ? keys.count() + " (required)" : "off");
    out.flush();
    server.warmUp();
    out.println("serve: ready (POST /v1/classify, GET /healthz, /readyz, /metrics)");
    out.flush();
    return new Running(server, predictor, serve);
  }
}
