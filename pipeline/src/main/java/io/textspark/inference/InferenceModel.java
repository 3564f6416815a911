package io.textspark.inference;

import ai.djl.Device;
import io.textspark.batch.PaddedBatch;
import io.textspark.model.ClassifierConfig;
import io.textspark.text.BertTokenizer;
import java.util.List;

/**
 * A fine-tuned classifier ready to score on one {@link Engine}: its labels, its tokenizer and a way
 * to turn padded batches into logits. Read-only once built, so the tasks of one executor share it
 * ({@link ModelCache}); each {@link BatchScorer} runs it through a {@link Runner} of its own.
 */
public interface InferenceModel extends AutoCloseable {

  /** Runs batches for one scorer (one thread at a time); holds that scorer's native memory. */
  interface Runner extends AutoCloseable {
    /** The logits of {@code batch}, row-major [rows, labels], in the order of its rows. */
    float[] logits(PaddedBatch batch);

    /** Releases this runner's native memory (not the model's). */
    @Override
    void close();
  }

  /** The engine that runs the model ({@link Engine#PYTORCH} or {@link Engine#ONNXRUNTIME}). */
  Engine engine();

  /** Where the model came from. */
  String reference();

  /** The architecture and labels. */
  ClassifierConfig config();

  /** The label names by index ({@code id2label}). */
  default List<String> labels() {
    return config().labels();
  }

  /** The executor JVM's tokenizer of this model for {@code maxLength}. */
  BertTokenizer tokenizer(int maxLength);

  /** The device the model runs on. */
  Device device();

  /**
   * Prepares the calling thread to run the model with {@code threads} threads: PyTorch's thread
   * count is a per-thread setting; ONNX Runtime's is fixed when its session is built.
   */
  void useThreads(int threads);

  /** A runner for one scorer. */
  Runner runner();

  /** Releases the model. */
  @Override
  void close();
}
