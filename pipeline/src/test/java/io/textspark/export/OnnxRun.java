package io.textspark.export;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.textspark.onnx.proto.Onnx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Runs an exported model in ONNX Runtime for Java, and counts the ops ONNX Runtime's optimizer leaves. */
final class OnnxRun implements AutoCloseable {
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession session;

  /** A session on {@code model} with all optimizations; the optimized graph goes to {@code optimized} if not null. */
  OnnxRun(Path model, Path optimized) throws OrtException {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setIntraOpNumThreads(1);
      if (optimized != null) {
        options.setOptimizedModelFilePath(optimized.toString());
      }
      session = env.createSession(model.toString(), options);
    }
  }

  /** The logits [batch, labels] for padded ids and their mask, token types all zero if the graph has them. */
  float[][] logits(long[][] ids, long[][] mask) throws OrtException {
    Map<String, OnnxTensor> feed = new HashMap<>();
    try {
      feed.put("input_ids", OnnxTensor.createTensor(env, ids));
      feed.put("attention_mask", OnnxTensor.createTensor(env, mask));
      if (session.getInputNames().contains("token_type_ids")) {
        feed.put("token_type_ids", OnnxTensor.createTensor(env, new long[ids.length][ids[0].length]));
      }
      try (OrtSession.Result r = session.run(feed)) {
        return (float[][]) r.get("logits").orElseThrow().getValue();
      }
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  /** The graph's declared inputs. */
  Set<String> inputs() {
    return session.getInputNames();
  }

  /** How many nodes of each op type a saved model has (domain-qualified for contrib ops). */
  static Map<String, Integer> opCounts(Path model) throws IOException {
    Onnx.ModelProto m;
    try (InputStream in = Files.newInputStream(model)) {
      m = Onnx.ModelProto.parseFrom(in);
    }
    Map<String, Integer> counts = new TreeMap<>();
    for (Onnx.NodeProto n : m.getGraph().getNodeList()) {
      counts.merge(n.getOpType(), 1, Integer::sum);
    }
    return counts;
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
