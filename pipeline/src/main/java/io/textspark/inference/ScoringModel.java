package io.textspark.inference;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.batch.PaddedBatch;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.compute.Compute;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamilies;
import io.textspark.model.ModelFamily;
import io.textspark.model.PretrainedModel;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import io.textspark.text.BertTokenizer;
import io.textspark.text.TokenizerCache;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * A fine-tuned classifier ready to score on PyTorch ({@link Engine#PYTORCH}): its weights on a
 * device, its labels and its tokenizer. Read-only once built, so the tasks of one executor share it
 * ({@link ModelCache}).
 */
public final class ScoringModel implements InferenceModel {
  /** The maximum length used when neither the settings nor the checkpoint give one (tokenize's default). */
  public static final int FALLBACK_MAX_LENGTH = 128;

  private final String reference;
  private final NDManager manager;
  private final TextClassifier classifier;
  private final byte[] tokenizerJson;
  private final String tokenizerSha256;
  private final Device device;

  private ScoringModel(String reference, NDManager manager, TextClassifier classifier, byte[] tokenizerJson,
      String tokenizerSha256, Device device) {
    this.reference = reference;
    this.manager = manager;
    this.classifier = classifier;
    this.tokenizerJson = tokenizerJson;
    this.tokenizerSha256 = tokenizerSha256;
    this.device = device;
  }

  /** Builds the model of {@code model} on {@code device}; fails when it has no trained head. */
  public static ScoringModel load(PretrainedModel model, Device device) {
    return load(model.reference(), model.config(), model.weights(), model.tokenizerJson(), model.tokenizerSha256(),
        device);
  }

  /** Builds a model from its parts on {@code device}; fails when the weights have no trained head. */
  static ScoringModel load(String reference, ClassifierConfig config, Map<String, Safetensors.Tensor> weights,
      byte[] tokenizerJson, String tokenizerSha256, Device device) {
    requireTrainedHead(reference, config, weights);
    NDManager manager = NDManager.newBaseManager(device);
    try {
      TextClassifier classifier = ModelFamilies.load(manager, config, weights, 0);
      return new ScoringModel(reference, manager, classifier, tokenizerJson, tokenizerSha256, device);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /**
   * Refuses weights without a classification head (the tensors {@link ModelFamily#trainedHeadTensors}
   * of the config's family): {@link ModelFamily#load} would initialise a random one, and its
   * predictions would look plausible while meaning nothing.
   */
  public static void requireTrainedHead(String reference, ClassifierConfig config,
      Map<String, Safetensors.Tensor> weights) {
    List<String> head = ModelFamilies.of(config).trainedHeadTensors();
    if (!weights.keySet().containsAll(head)) {
      throw new TextSparkException("model " + reference + " has no trained classification head (no "
          + String.join(" and ", head) + "): it is a pretrained encoder, not a fine-tuned classifier, and would"
          + " predict at random. Score with a checkpoint of `textspark train` (runs/<name>/checkpoints/...).");
    }
  }

  /**
   * The maximum length to score with: {@code requested} when positive (at most the model's
   * positions), else the {@code tokenize.max_length} a checkpoint's {@code trainer_state.json}
   * records, so text is truncated as it was in training, else {@value #FALLBACK_MAX_LENGTH}.
   */
  public static int resolveMaxLength(PretrainedModel model, int requested, Configuration conf) {
    int positions = model.config().maxPositionEmbeddings();
    if (requested > positions) {
      throw new TextSparkException("max_length = " + requested + " but model " + model.reference() + " has only "
          + positions + " positions (max_position_embeddings); set score.max_length to " + positions
          + " or less, or 0 to use the length the model was trained with.");
    }
    if (requested > 0) {
      return requested;
    }
    int trained = trainedMaxLength(model.reference(), conf).orElse(FALLBACK_MAX_LENGTH);
    return Math.min(trained, positions);
  }

  /** The {@code tokenize.max_length} in a checkpoint's recorded configuration, if it is a checkpoint that has one. */
  static Optional<Integer> trainedMaxLength(String reference, Configuration conf) {
    Optional<Checkpoint> checkpoint;
    try {
      checkpoint = Checkpoint.read(new Path(reference), conf);
    } catch (IllegalArgumentException | TextSparkException e) {
      return Optional.empty();
    }
    if (checkpoint.isEmpty() || checkpoint.get().files().stream().noneMatch(f -> f.name().equals(CheckpointLayout.TRAINER_STATE))) {
      return Optional.empty();
    }
    try (InputStream in = checkpoint.get().open(CheckpointLayout.TRAINER_STATE)) {
      JsonElement state = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      JsonObject config = state.getAsJsonObject().getAsJsonObject("config");
      if (config == null || !config.has("tokenize")) {
        return Optional.empty();
      }
      JsonObject tokenize = config.getAsJsonObject("tokenize");
      return tokenize.has("max_length") ? Optional.of(tokenize.get("max_length").getAsInt()) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      // The recorded configuration only supplies a default; an unreadable one falls back to it.
      return Optional.empty();
    }
  }

  /** {@link Engine#PYTORCH}. */
  @Override
  public Engine engine() {
    return Engine.PYTORCH;
  }

  /** Sets PyTorch's intra-op threads on the calling thread (a per-thread setting). */
  @Override
  public void useThreads(int threads) {
    Compute.useThreads(threads);
  }

  /** A runner with its own native memory scope on the model's device, in eval mode without gradients. */
  @Override
  public Runner runner() {
    NDManager scope = NDManager.newBaseManager(device);
    return new Runner() {
      @Override
      public float[] logits(PaddedBatch batch) {
        boolean wasGrad = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try (NDManager step = scope.newSubManager()) {
          NDArray scores = classifier.logits(batch.inputIdsArray(step), batch.attentionMaskArray(step), false);
          return scores.toFloatArray();
        } finally {
          JniUtils.setGradMode(wasGrad);
        }
      }

      @Override
      public void close() {
        scope.close();
      }
    };
  }

  /** The executor JVM's tokenizer of this model for {@code maxLength}. */
  @Override
  public BertTokenizer tokenizer(int maxLength) {
    return TokenizerCache.get(tokenizerJson, tokenizerSha256, maxLength);
  }

  /** The network, in eval mode when called with {@code training = false}. */
  public TextClassifier classifier() {
    return classifier;
  }

  /** The architecture and labels. */
  @Override
  public ClassifierConfig config() {
    return classifier.config();
  }

  /** The label names by index ({@code id2label}). */
  @Override
  public List<String> labels() {
    return classifier.config().labels();
  }

  /** Where the model came from. */
  @Override
  public String reference() {
    return reference;
  }

  /** The device holding the weights; inputs must be created there. */
  @Override
  public Device device() {
    return device;
  }

  /** Releases the weights. */
  @Override
  public void close() {
    classifier.close();
    manager.close();
  }
}
