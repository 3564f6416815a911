package io.textspark.inference;

import ai.djl.Device;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.textspark.TextSparkException;
import io.textspark.batch.PaddedBatch;
import io.textspark.model.ClassifierConfig;
import io.textspark.text.BertTokenizer;
import io.textspark.text.TokenizerCache;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A fine-tuned classifier exported to ONNX ({@link ExportedModel}) in an ONNX Runtime session on
 * the CPU ({@link Engine#ONNXRUNTIME}): all graph optimizations, a fixed number of intra-op threads
 * and one inter-op thread. ONNX Runtime sessions can run concurrently, so the tasks of one executor
 * share one session ({@link ModelCache}); each run gets only the inputs the graph declares.
 */
public final class OnnxScoringModel implements InferenceModel {
  /** The inputs textspark knows how to feed; a graph declaring any other is refused when loaded. */
  static final List<String> INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");
  /** The output read. */
  static final String OUTPUT = "logits";

  private final String reference;
  private final ClassifierConfig config;
  private final byte[] tokenizerJson;
  private final String tokenizerSha256;
  private final int threads;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final Set<String> inputs;

  private OnnxScoringModel(String reference, ClassifierConfig config, byte[] tokenizerJson, String tokenizerSha256,
      int threads, OrtEnvironment env, OrtSession session) {
    this.reference = reference;
    this.config = config;
    this.tokenizerJson = tokenizerJson;
    this.tokenizerSha256 = tokenizerSha256;
    this.threads = threads;
    this.env = env;
    this.session = session;
    this.inputs = session.getInputNames();
  }

  /** Builds a session on {@code model} with {@code threads} intra-op threads. */
  public static OnnxScoringModel load(ExportedModel model, int threads) {
    return load(model.reference(), model.config(), model.onnx(), model.tokenizerJson(), model.tokenizerSha256(),
        threads);
  }

  /**
   * Builds a session on the serialized model {@code onnx}; fails, naming the fix, when ONNX Runtime
   * cannot load it or its inputs and outputs are not those of a {@code textspark export}.
   */
  static OnnxScoringModel load(String reference, ClassifierConfig config, byte[] onnx, byte[] tokenizerJson,
      String tokenizerSha256, int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession session;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      session = env.createSession(onnx, options);
    } catch (OrtException e) {
      throw new TextSparkException("ONNX Runtime cannot load the " + ExportedModel.MODEL + " of " + reference + ": "
          + e.getMessage() + ". Export the model again with `textspark export`.", e);
    }
    try {
      check(reference, config, session);
      return new OnnxScoringModel(reference, config, tokenizerJson, tokenizerSha256, threads, env, session);
    } catch (RuntimeException e) {
      closeQuietly(session);
      throw e;
    }
  }

  private static void check(String reference, ClassifierConfig config, OrtSession session) {
    Set<String> declared = session.getInputNames();
    for (String name : declared) {
      if (!INPUTS.contains(name)) {
        throw new TextSparkException("the " + ExportedModel.MODEL + " of " + reference + " declares the input \""
            + name + "\", which textspark cannot feed (it feeds " + INPUTS + "). Score a folder written by"
            + " `textspark export`.");
      }
    }
    if (!declared.contains("input_ids") || !declared.contains("attention_mask")) {
      throw new TextSparkException("the " + ExportedModel.MODEL + " of " + reference + " declares the inputs "
          + declared + " but needs input_ids and attention_mask. Score a folder written by `textspark export`.");
    }
    Map<String, NodeInfo> outputs;
    try {
      outputs = session.getOutputInfo();
    } catch (OrtException e) {
      throw new TextSparkException("ONNX Runtime cannot describe the outputs of " + reference + ": " + e.getMessage(), e);
    }
    NodeInfo logits = outputs.get(OUTPUT);
    if (logits == null) {
      throw new TextSparkException("the " + ExportedModel.MODEL + " of " + reference + " has no output \"" + OUTPUT
          + "\" (its outputs are " + outputs.keySet() + "). Score a folder written by `textspark export`.");
    }
    if (logits.getInfo() instanceof TensorInfo t && t.getShape().length == 2 && t.getShape()[1] > 0
        && t.getShape()[1] != config.labels().size()) {
      throw new TextSparkException("the " + ExportedModel.MODEL + " of " + reference + " gives " + t.getShape()[1]
          + " logits per text but its config.json has " + config.labels().size() + " labels " + config.labels()
          + ". The folder mixes files of different models; export the model again with `textspark export`.");
    }
  }

  @Override
  public Engine engine() {
    return Engine.ONNXRUNTIME;
  }

  @Override
  public String reference() {
    return reference;
  }

  @Override
  public ClassifierConfig config() {
    return config;
  }

  @Override
  public BertTokenizer tokenizer(int maxLength) {
    return TokenizerCache.get(tokenizerJson, tokenizerSha256, maxLength);
  }

  /** The CPU: this build of ONNX Runtime has no GPU provider. */
  @Override
  public Device device() {
    return Device.cpu();
  }

  /** Nothing to do per thread: the session's intra-op threads were fixed when it was built. */
  @Override
  public void useThreads(int threads) {
    // ONNX Runtime's thread pool belongs to the session.
  }

  /** The session's intra-op threads. */
  public int threads() {
    return threads;
  }

  /** The graph's declared inputs. */
  public Set<String> inputs() {
    return inputs;
  }

  @Override
  public Runner runner() {
    return new Runner() {
      @Override
      public float[] logits(PaddedBatch batch) {
        return run(batch);
      }

      @Override
      public void close() {
        // Every run's tensors are closed when it ends.
      }
    };
  }

  private float[] run(PaddedBatch batch) {
    long[] shape = {batch.batchSize(), batch.seqLength()};
    Map<String, OnnxTensor> feed = new HashMap<>();
    try {
      feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(batch.inputIds()), shape));
      feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(batch.attentionMask()), shape));
      if (inputs.contains("token_type_ids")) {
        long[] types = new long[batch.batchSize() * batch.seqLength()];
        feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(types), shape));
      }
      try (OrtSession.Result result = session.run(feed, Set.of(OUTPUT))) {
        FloatBuffer values = ((OnnxTensor) result.get(0)).getFloatBuffer();
        float[] logits = new float[values.remaining()];
        values.get(logits);
        return logits;
      }
    } catch (OrtException e) {
      throw new TextSparkException("ONNX Runtime failed on a batch of " + batch.batchSize() + " texts of "
          + batch.seqLength() + " tokens with the model " + reference + ": " + e.getMessage(), e);
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  /** Closes the session. */
  @Override
  public void close() {
    closeQuietly(session);
  }

  private static void closeQuietly(OrtSession session) {
    try {
      session.close();
    } catch (OrtException e) {
      // Closing frees native memory; there is nothing a caller could do about a failure.
    }
  }
}
