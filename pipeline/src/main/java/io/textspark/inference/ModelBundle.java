package io.textspark.inference;

import ai.djl.Device;
import io.textspark.fs.Download;
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
 * A model as bytes (config.json, tokenizer.json, safetensors weights) so that Spark can broadcast
 * it: the driver reads and verifies the model once, and executors need no access to where it is
 * stored. {@link #key()} identifies the content, so a JVM builds each distinct model once.
 */
public final class ModelBundle implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String reference;
  private final String configJson;
  private final byte[] tokenizerJson;
  private final String tokenizerSha256;
  private final byte[] weights;
  private final String key;

  private ModelBundle(String reference, String configJson, byte[] tokenizerJson, String tokenizerSha256,
      byte[] weights, String key) {
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
    MessageDigest sha = Download.sha256();
    sha.update(configJson.getBytes(StandardCharsets.UTF_8));
    sha.update(model.tokenizerSha256().getBytes(StandardCharsets.UTF_8));
    sha.update(weights);
    return new ModelBundle(model.reference(), configJson, model.tokenizerJson(), model.tokenizerSha256(), weights,
        HexFormat.of().formatHex(sha.digest()));
  }

  /** The SHA-256 of the model's content: equal keys mean the same predictions. */
  public String key() {
    return key;
  }

  /** Where the model came from. */
  public String reference() {
    return reference;
  }

  /** The size of the weights in bytes. */
  public long weightBytes() {
    return weights.length;
  }

  /** Builds the model on {@code device}. */
  public ScoringModel load(Device device) {
    Map<String, Safetensors.Tensor> tensors =
        Safetensors.read(new ByteArrayInputStream(weights), reference + " (broadcast)");
    return ScoringModel.load(reference, ModelFamilies.parseConfig(configJson, reference, reference + "/config.json"),
        tensors, tokenizerJson, tokenizerSha256, device);
  }
}
