package io.textspark.inference;

import ai.djl.Device;
import io.textspark.fs.Download;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamilies;
import io.textspark.model.PretrainedModel;
import io.textspark.model.Safetensors;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

/**
 * A model as bytes (config.json, tokenizer.json, and safetensors weights for PyTorch or {@code
 * model.onnx} for ONNX Runtime) so that Spark can broadcast it: the driver reads and verifies the
 * model once, and executors need no access to where it is stored. {@link #key()} identifies the
 * content and engine, so a JVM builds each distinct model once.
 */
public final class ModelBundle implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Engine engine;
  private final String reference;
  private final String configJson;
  private final byte[] tokenizerJson;
  private final String tokenizerSha256;
  private final byte[] weights;
  private final String key;

  private ModelBundle(Engine engine, String reference, String configJson, byte[] tokenizerJson,
      String tokenizerSha256, byte[] weights, String key) {
    this.engine = engine;
    this.reference = reference;
    this.configJson = configJson;
    this.tokenizerJson = tokenizerJson;
    this.tokenizerSha256 = tokenizerSha256;
    this.weights = weights;
    this.key = key;
  }

  /** Packs a loaded model; fails when it has no trained classification head. */
  public static ModelBundle of(PretrainedModel model) {
    ScoringModel.requireTrainedHead(model.reference(), model.config(), model.weights());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Safetensors.write(bytes, model.weights(), Map.of("format", "pt"));
    byte[] weights = bytes.toByteArray();
    String configJson = model.config().toJson();
    return new ModelBundle(Engine.PYTORCH, model.reference(), configJson, model.tokenizerJson(),
        model.tokenizerSha256(), weights, key(Engine.PYTORCH, configJson, model.tokenizerSha256(), weights));
  }

  /** Packs an ONNX export for ONNX Runtime. */
  public static ModelBundle of(ExportedModel model) {
    String configJson = model.config().toJson();
    return new ModelBundle(Engine.ONNXRUNTIME, model.reference(), configJson, model.tokenizerJson(),
        model.tokenizerSha256(), model.onnx(), key(Engine.ONNXRUNTIME, configJson, model.tokenizerSha256(),
        model.onnx()));
  }

  private static String key(Engine engine, String configJson, String tokenizerSha256, byte[] weights) {
    MessageDigest sha = Download.sha256();
    sha.update(engine.label().getBytes(StandardCharsets.UTF_8));
    sha.update(configJson.getBytes(StandardCharsets.UTF_8));
    sha.update(tokenizerSha256.getBytes(StandardCharsets.UTF_8));
    sha.update(weights);
    return HexFormat.of().formatHex(sha.digest());
  }

  /** The engine the model is packed for. */
  public Engine engine() {
    return engine;
  }

  /** The SHA-256 of the model's content: equal keys mean the same predictions. */
  public String key() {
    return key;
  }

  /** Where the model came from. */
  public String reference() {
    return reference;
  }

  /** The size of the weights (safetensors or ONNX) in bytes. */
  public long weightBytes() {
    return weights.length;
  }

  /**
   * Builds the model: on {@code device} for PyTorch, in an ONNX Runtime session of {@code threads}
   * intra-op threads for ONNX Runtime.
   */
  public InferenceModel load(Device device, int threads) {
    ClassifierConfig config = ModelFamilies.parseConfig(configJson, reference, reference + "/config.json");
    if (engine == Engine.ONNXRUNTIME) {
      return OnnxScoringModel.load(reference, config, weights, tokenizerJson, tokenizerSha256, threads);
    }
    Map<String, Safetensors.Tensor> tensors =
        Safetensors.read(new ByteArrayInputStream(weights), reference + " (broadcast)");
    return ScoringModel.load(reference, config, tensors, tokenizerJson, tokenizerSha256, device);
  }
}
