package io.textspark.inference;

import ai.djl.Device;
import io.textspark.TextSparkException;
import io.textspark.compute.Compute;
import io.textspark.config.ModelConfig;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;

/**
 * The one way to turn texts into {@link Prediction}s, used by {@code predict}, by each partition
 * of {@code score} and by the server: a model on its engine ({@link ResolvedModel} decides PyTorch
 * or ONNX Runtime) and device, the maximum length and batch size, and the threads it runs with.
 *
 * <p>Built either from a model reference ({@link #load}: read, checked for a trained head, maximum
 * length resolved, model built and owned by this predictor) or, on an executor, from a broadcast
 * {@link ModelBundle} ({@link #open(String, Supplier, InferenceSettings)}: the JVM's shared model
 * from {@link ModelCache}, which closing leaves loaded for the next partition).
 *
 * <p>Thread-safe: concurrent callers each get a {@link BatchScorer} of their own (scorers are kept
 * and reused, one per caller running at the same time), and each calling thread gets the
 * configured PyTorch thread count before its first call (an ONNX Runtime session has its threads
 * from the start).
 */
public final class Predictor implements AutoCloseable {
  private final InferenceModel model;
  private final boolean ownsModel;
  private final int maxLength;
  private final int batchSize;
  private final int threads;
  private final ThreadLocal<Boolean> threadsSet = ThreadLocal.withInitial(() -> false);
  private final LongAdder tokenizeNanos = new LongAdder();
  private final LongAdder modelNanos = new LongAdder();
  private final Object lock = new Object();
  private final ArrayDeque<BatchScorer> idle = new ArrayDeque<>();
  private int busy;
  private int open;
  private boolean closed;

  private Predictor(InferenceModel model, boolean ownsModel, int maxLength, int batchSize, int threads) {
    this.model = model;
    this.ownsModel = ownsModel;
    this.maxLength = maxLength;
    this.batchSize = batchSize;
    this.threads = threads;
    // The building thread got its thread count when the model was placed.
    threadsSet.set(true);
    try {
      // Built now so that a tokenizer that cannot be loaded fails here, not at the first text.
      idle.add(newScorer());
    } catch (RuntimeException e) {
      release();
      throw e;
    }
  }

  /**
   * A predictor for {@code reference} (checkpoint folder on any Hadoop file system, model folder,
   * ONNX export folder or Hugging Face Hub name, found with {@code hub}'s endpoint, revision and
   * cache) on {@code settings.engine()}: fails, naming the fix, when the model has no trained head,
   * {@code settings.maxLength()} exceeds its positions or the engine cannot run it.
   */
  public static Predictor load(String reference, ModelConfig hub, InferenceSettings settings, Configuration conf) {
    return open(ResolvedModel.resolve(reference, hub, settings.engineChoice(), settings.maxLength(), conf), settings);
  }

  /**
   * A predictor for a model already read and checked on this JVM, at its resolved maximum length
   * (which replaces {@code settings.maxLength()}); the predictor owns the model it builds.
   */
  public static Predictor open(ResolvedModel resolved, InferenceSettings settings) {
    if (resolved.engine() == Engine.ONNXRUNTIME) {
      int threads = onnxThreads(settings);
      OnnxScoringModel built = OnnxScoringModel.load(resolved.export(), threads);
      return new Predictor(built, true, resolved.maxLength(), settings.batchSize(), threads);
    }
    Compute.Placement placement = Compute.place(settings.device(), settings.threads());
    ScoringModel built = ScoringModel.load(resolved.model(), placement.device());
    return new Predictor(built, true, resolved.maxLength(), settings.batchSize(), placement.threads());
  }

  /**
   * A predictor on an executor for the broadcast model {@code key} (see {@link ModelBundle#key()}),
   * sharing the JVM's model ({@link ModelCache}; {@code bundle} is only read by the first caller).
   * {@code settings.maxLength()} and {@code settings.engine()} must be those the driver resolved
   * ({@link ResolvedModel}). On ONNX Runtime the executor's tasks share one session per thread count.
   */
  public static Predictor open(String key, Supplier<ModelBundle> bundle, InferenceSettings settings) {
    if (settings.maxLength() < 1) {
      throw new IllegalArgumentException("max_length must be resolved on the driver (ResolvedModel) before"
          + " executors open a predictor, got " + settings.maxLength());
    }
    Engine engine = settings.engineChoice();
    if (engine == Engine.AUTO) {
      throw new IllegalArgumentException("the engine must be resolved on the driver (ResolvedModel) before"
          + " executors open a predictor, got auto");
    }
    if (engine == Engine.ONNXRUNTIME) {
      int threads = onnxThreads(settings);
      InferenceModel shared = ModelCache.get(key, engine, Device.cpu(), threads, bundle);
      return new Predictor(shared, false, settings.maxLength(), settings.batchSize(), threads);
    }
    Compute.Placement placement = Compute.place(settings.device(), settings.threads());
    InferenceModel shared = ModelCache.get(key, engine, placement.device(), placement.threads(), bundle);
    return new Predictor(shared, false, settings.maxLength(), settings.batchSize(), placement.threads());
  }

  /**
   * ONNX Runtime's intra-op threads: {@code settings.threads()}, else {@code spark.task.cpus} in a
   * Spark task, else every core. It runs on the CPU here, so a GPU asked for is refused.
   */
  private static int onnxThreads(InferenceSettings settings) {
    if ("gpu".equals(settings.device())) {
      throw new TextSparkException("device = gpu but the engine is ONNX Runtime, which runs on the CPU in"
          + " textspark. Set score.device to auto or cpu, or score the checkpoint on PyTorch (score.engine ="
          + " pytorch) to use the GPU.");
    }
    return Compute.threads(settings.threads());
  }

  /**
   * The predictions for {@code texts}, in their order: a null text, or one the tokenizer refuses,
   * gets a failed prediction with the reason instead of failing the call.
   */
  public Prediction[] predict(List<String> texts) {
    BatchScorer scorer = borrow();
    try {
      if (!threadsSet.get()) {
        // PyTorch's OpenMP thread count is a per-thread setting, so each calling thread sets it once.
        model.useThreads(threads);
        threadsSet.set(true);
      }
      long tokenizeBefore = scorer.tokenizeNanos();
      long modelBefore = scorer.modelNanos();
      Prediction[] out = scorer.score(texts);
      tokenizeNanos.add(scorer.tokenizeNanos() - tokenizeBefore);
      modelNanos.add(scorer.modelNanos() - modelBefore);
      return out;
    } finally {
      giveBack(scorer);
    }
  }

  /** The label names by index. */
  public List<String> labels() {
    return model.labels();
  }

  /** Where the model came from (a checkpoint is named by its folder). */
  public String reference() {
    return model.reference();
  }

  /** The maximum length texts are truncated to, in tokens. */
  public int maxLength() {
    return maxLength;
  }

  /** The texts per model call. */
  public int batchSize() {
    return batchSize;
  }

  /** The device the model runs on. */
  public Device device() {
    return model.device();
  }

  /** The engine running the model: {@link Engine#PYTORCH} or {@link Engine#ONNXRUNTIME}. */
  public Engine engine() {
    return model.engine();
  }

  /** The PyTorch threads each calling thread uses, or the ONNX Runtime session's intra-op threads. */
  public int threads() {
    return threads;
  }

  /** The index of {@code label} among {@link #labels()}; empty means the last label. */
  public int scoreIndex(String label) {
    return Prediction.scoreIndex(labels(), label);
  }

  /** Nanoseconds spent tokenizing so far, summed over callers. */
  public long tokenizeNanos() {
    return tokenizeNanos.sum();
  }

  /** Nanoseconds spent batching and running the model so far, summed over callers. */
  public long modelNanos() {
    return modelNanos.sum();
  }

  /** The model this predictor runs; for tests in this package. */
  InferenceModel model() {
    return model;
  }

  /** How many scorers hold native memory now; for tests in this package. */
  int openScorers() {
    synchronized (lock) {
      return open;
    }
  }

  /**
   * Releases the scorers' native memory, and the model when this predictor built it (a shared
   * executor model stays loaded). Calls still running finish first; later calls fail.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      while (!idle.isEmpty()) {
        closeScorer(idle.poll());
      }
      if (busy == 0) {
        release();
      }
    }
  }

  private BatchScorer borrow() {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the predictor of " + reference() + " is closed; open a new one");
      }
      BatchScorer scorer = idle.isEmpty() ? newScorer() : idle.pollLast();
      busy++;
      return scorer;
    }
  }

  private void giveBack(BatchScorer scorer) {
    synchronized (lock) {
      busy--;
      if (!closed) {
        idle.addLast(scorer);
        return;
      }
      closeScorer(scorer);
      if (busy == 0) {
        release();
      }
    }
  }

  private BatchScorer newScorer() {
    BatchScorer scorer = new BatchScorer(model, maxLength, batchSize);
    open++;
    return scorer;
  }

  private void closeScorer(BatchScorer scorer) {
    scorer.close();
    open--;
  }

  private void release() {
    if (ownsModel) {
      model.close();
    }
  }
}
