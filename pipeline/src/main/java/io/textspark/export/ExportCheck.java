package io.textspark.export;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.textspark.TextSparkException;
import io.textspark.inference.ScoringModel;
import io.textspark.model.PretrainedModel;
import io.textspark.text.BertTokenizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an ONNX model in ONNX Runtime on a few English sentences, padded into one batch so that the
 * attention mask matters, and compares its logits with those of textspark's own (PyTorch) model.
 * It catches an export whose graph does not compute what the model computes before it is written.
 */
public final class ExportCheck implements AutoCloseable {
  /** Sentences of 3 to 22 word pieces, acceptable and not, in the style of CoLA. */
  public static final List<String> SENTENCES = List.of(
      "The book was written by John.",
      "Books were sent to each other by the students.",
      "She sang.",
      "The more you eat, the fatter you get, and the less you can run in the mornings before work.",
      "Who did you see?",
      "John seems that Mary left.",
      "Bill's story about Sue and Max's about Kathy both amazed me.",
      "Them played in the park yesterday.");

  /**
   * How an ONNX model's logits compare with textspark's.
   *
   * @param sentences sentences compared
   * @param maxAbsDiff largest absolute difference of one logit
   * @param sameArgmax sentences whose predicted label is the same
   */
  public record Result(int sentences, double maxAbsDiff, int sameArgmax) {}

  private final ScoringModel reference;
  private final long[][] ids;
  private final long[][] mask;
  private final float[][] expected;

  private ExportCheck(ScoringModel reference, int maxLength) {
    this.reference = reference;
    BertTokenizer tokenizer = reference.tokenizer(maxLength);
    int[][] encoded = new int[SENTENCES.size()][];
    int longest = 0;
    for (int i = 0; i < encoded.length; i++) {
      encoded[i] = tokenizer.encode(SENTENCES.get(i)).ids();
      longest = Math.max(longest, encoded[i].length);
    }
    ids = new long[encoded.length][longest];
    mask = new long[encoded.length][longest];
    // Padded with the model's pad id, as scoring pads: RoBERTa numbers its positions by it.
    long pad = reference.config().padTokenId();
    for (int i = 0; i < encoded.length; i++) {
      Arrays.fill(ids[i], pad);
      for (int j = 0; j < encoded[i].length; j++) {
        ids[i][j] = encoded[i][j];
        mask[i][j] = 1;
      }
    }
    expected = textsparkLogits();
  }

  /** Builds textspark's model of {@code model} on the CPU and its logits for {@link #SENTENCES}. */
  public static ExportCheck of(PretrainedModel model, int maxLength) {
    ScoringModel reference = ScoringModel.load(model, Device.cpu());
    try {
      return new ExportCheck(reference, maxLength);
    } catch (RuntimeException e) {
      reference.close();
      throw e;
    }
  }

  /** Runs the serialized ONNX model {@code onnx} on the sentences and compares it with textspark's logits. */
  public Result compare(byte[] onnx) {
    float[][] got = onnxLogits(onnx);
    double max = 0;
    int same = 0;
    for (int i = 0; i < got.length; i++) {
      for (int j = 0; j < got[i].length; j++) {
        max = Math.max(max, Math.abs(got[i][j] - expected[i][j]));
      }
      if (argmax(got[i]) == argmax(expected[i])) {
        same++;
      }
    }
    return new Result(got.length, max, same);
  }

  private float[][] onnxLogits(byte[] onnx) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(1);
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession session = env.createSession(onnx, options)) {
        inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
        inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
        if (session.getInputNames().contains("token_type_ids")) {
          inputs.put("token_type_ids", OnnxTensor.createTensor(env, new long[ids.length][ids[0].length]));
        }
        try (OrtSession.Result result = session.run(inputs)) {
          return (float[][]) result.get("logits").orElseThrow(() -> new TextSparkException(
              "the exported graph has no output named logits")).getValue();
        }
      }
    } catch (OrtException e) {
      throw new TextSparkException("ONNX Runtime cannot run the exported model: " + e.getMessage()
          + ". Nothing was written; this is a bug in textspark's export of this model family, please report it.", e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  private float[][] textsparkLogits() {
    int b = ids.length;
    int t = ids[0].length;
    long[] flatIds = new long[b * t];
    long[] flatMask = new long[b * t];
    for (int i = 0; i < b; i++) {
      System.arraycopy(ids[i], 0, flatIds, i * t, t);
      System.arraycopy(mask[i], 0, flatMask, i * t, t);
    }
    try (NDManager m = NDManager.newBaseManager(reference.device())) {
      float[] flat = reference.classifier().logits(m.create(flatIds, new Shape(b, t)),
          m.create(flatMask, new Shape(b, t)), false).toFloatArray();
      int labels = flat.length / b;
      float[][] out = new float[b][labels];
      for (int i = 0; i < b; i++) {
        System.arraycopy(flat, i * labels, out[i], 0, labels);
      }
      return out;
    }
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Releases textspark's model. */
  @Override
  public void close() {
    reference.close();
  }
}
