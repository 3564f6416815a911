package io.textspark.model.bert;

import static io.textspark.model.EncoderOps.dropout;
import static io.textspark.model.EncoderOps.embedding;
import static io.textspark.model.EncoderOps.indices;
import static io.textspark.model.EncoderOps.inScope;
import static io.textspark.model.EncoderOps.layerNorm;
import static io.textspark.model.EncoderOps.linear;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.textspark.TextSparkException;
import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOps;
import io.textspark.model.Safetensors;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A post-LayerNorm BERT encoder with the Hugging Face {@code BertForSequenceClassification} head,
 * written with DJL NDArray operations so that every parameter is a plain named NDArray.
 *
 * <p>Head semantics follow Hugging Face exactly: the [CLS] vector goes through the pooler (dense +
 * tanh), then dropout, then the classifier. The pooler is kept as {@code bert.pooler.dense.*}; it
 * is loaded from the checkpoint when present (MiniLM and bert-base ship one) and otherwise
 * initialised fresh like the classifier, normal(0, initializer_range) weights and zero biases.
 * The head dropout rate is {@code hidden_dropout_prob} (Hugging Face's default when {@code
 * classifier_dropout} is unset).
 *
 * <p>Memory: parameters live in a sub-manager of the manager given to {@link #load}, released by
 * {@link #close()}. Every array a forward pass creates is attached to the manager of {@code
 * inputIds} (per-layer temporaries are closed before the call returns), so callers should run each
 * step inside {@code NDManager.newSubManager()} and close it afterwards.
 */
public final class BertClassifier extends EncoderClassifier {
  private static final String PREFIX = "bert.";

  private final BertConfig config;
  private final EncoderLayer[] layers;
  private final EncoderLayer.Settings settings;
  private final NDArray wordEmbeddings;
  private final NDArray positionEmbeddings;
  private final NDArray tokenTypeEmbeddings;
  private final NDArray embeddingNormWeight;
  private final NDArray embeddingNormBias;
  private final NDArray poolerWeight;
  private final NDArray poolerBias;
  private final NDArray classifierWeight;
  private final NDArray classifierBias;

  private BertClassifier(BertConfig config, NDManager manager, Map<String, NDArray> parameters) {
    super(manager, parameters);
    this.config = config;
    wordEmbeddings = parameters.get("bert.embeddings.word_embeddings.weight");
    positionEmbeddings = parameters.get("bert.embeddings.position_embeddings.weight");
    tokenTypeEmbeddings = parameters.get("bert.embeddings.token_type_embeddings.weight");
    embeddingNormWeight = parameters.get("bert.embeddings.LayerNorm.weight");
    embeddingNormBias = parameters.get("bert.embeddings.LayerNorm.bias");
    layers = new EncoderLayer[config.numHiddenLayers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = EncoderLayer.of(parameters, "bert.encoder.layer." + i + ".", EncoderLayer.Names.BERT);
    }
    settings = new EncoderLayer.Settings(config.numAttentionHeads(), config.layerNormEps(), config.hiddenAct(),
        config.hiddenDropoutProb(), config.attentionProbsDropoutProb(), true);
    poolerWeight = parameters.get("bert.pooler.dense.weight");
    poolerBias = parameters.get("bert.pooler.dense.bias");
    classifierWeight = parameters.get("classifier.weight");
    classifierBias = parameters.get("classifier.bias");
  }

  /**
   * The parameter names of {@code BertForSequenceClassification} for {@code config}, with their
   * shapes, in the stable order used by {@link #parameters()}.
   */
  public static Map<String, long[]> parameterShapes(BertConfig config) {
    long h = config.hiddenSize();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("bert.embeddings.word_embeddings.weight", new long[] {config.vocabSize(), h});
    shapes.put("bert.embeddings.position_embeddings.weight", new long[] {config.maxPositionEmbeddings(), h});
    shapes.put("bert.embeddings.token_type_embeddings.weight", new long[] {config.typeVocabSize(), h});
    shapes.put("bert.embeddings.LayerNorm.weight", new long[] {h});
    shapes.put("bert.embeddings.LayerNorm.bias", new long[] {h});
    for (int l = 0; l < config.numHiddenLayers(); l++) {
      EncoderLayer.addShapes(shapes, "bert.encoder.layer." + l + ".", EncoderLayer.Names.BERT, h,
          config.intermediateSize());
    }
    shapes.put("bert.pooler.dense.weight", new long[] {h, h});
    shapes.put("bert.pooler.dense.bias", new long[] {h});
    shapes.put("classifier.weight", new long[] {config.numLabels(), h});
    shapes.put("classifier.bias", new long[] {config.numLabels()});
    return shapes;
  }

  /**
   * Builds a classifier from checkpoint tensors. Names may carry the {@code bert.} prefix or not (a
   * bare {@code BertModel} checkpoint); unknown tensors such as {@code cls.*} or {@code
   * embeddings.position_ids} are ignored. The pooler and the classifier are initialised from {@code
   * seed} when the checkpoint lacks them, so a fresh head is reproducible; a fine-tuned checkpoint
   * that has them reloads them. Parameters are FLOAT32 in a sub-manager of {@code parent}.
   *
   * @throws TextSparkException naming the tensor when one is missing or has the wrong shape
   */
  public static BertClassifier load(
      NDManager parent, BertConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    EncoderClassifier.Source source = new EncoderClassifier.Source(name -> lookup(weights, name),
        name -> name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : null,
        name -> name.startsWith("classifier.") || name.startsWith("bert.pooler."), config.initializerRange());
    Map.Entry<NDManager, Map<String, NDArray>> loaded =
        loadParameters(parent, parameterShapes(config), source, seed);
    return new BertClassifier(config, loaded.getKey(), loaded.getValue());
  }

  /** The architecture this model was built for. */
  @Override
  public BertConfig config() {
    return config;
  }

  /**
   * The ordered name to array map to pass to {@link Safetensors#writeArrays}; names are those of
   * {@code BertForSequenceClassification}, so the file also loads in Hugging Face transformers.
   */
  public Map<String, NDArray> stateDict() {
    return parameters();
  }

  /** The last hidden state [B, T, H] with token type 0 everywhere; see the four-argument form. */
  public NDArray forward(NDArray inputIds, NDArray attentionMask, boolean training) {
    return forward(inputIds, attentionMask, null, training);
  }

  /**
   * Runs the encoder and returns the last hidden state [B, T, H], attached to the manager of {@code
   * inputIds}.
   *
   * @param inputIds word-piece ids [B, T], INT64 or INT32
   * @param attentionMask 1 for real tokens and 0 for padding [B, T], any numeric type, or null for
   *     all ones
   * @param tokenTypeIds segment ids [B, T], or null for all zeros
   * @param training whether to apply dropout (seed it with {@code Engine.setRandomSeed})
   */
  public NDArray forward(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
    EncoderOps.checkInputs(inputIds, attentionMask, config.maxPositionEmbeddings());
    if (tokenTypeIds != null && !tokenTypeIds.getShape().equals(inputIds.getShape())) {
      throw new TextSparkException("tokenTypeIds has shape " + tokenTypeIds.getShape() + " but inputIds has shape "
          + inputIds.getShape() + ".");
    }
    NDManager caller = inputIds.getManager();
    try (NDManager scope = caller.newSubManager()) {
      NDArray hidden = embed(scope, inputIds, tokenTypeIds, inputIds.getShape().get(1), training);
      NDArray additiveMask = EncoderOps.additiveMask(attentionMask, scope);
      for (EncoderLayer layer : layers) {
        NDArray next = layer.forward(hidden, additiveMask, settings, training);
        // The autograd graph keeps its own reference, so closing the handle is safe when training.
        hidden.close();
        hidden = next;
      }
      hidden.attach(caller);
      return hidden;
    }
  }

  /** The class scores [B, numLabels] for a batch, attached to the manager of {@code inputIds}. */
  @Override
  public NDArray logits(NDArray inputIds, NDArray attentionMask, boolean training) {
    NDManager caller = inputIds.getManager();
    try (NDManager scope = caller.newSubManager()) {
      NDArray hidden = forward(inputIds, attentionMask, training);
      hidden.attach(scope);
      NDArray logits = head(hidden, training);
      logits.attach(caller);
      return logits;
    }
  }

  /**
   * The class scores [B, numLabels] from a last hidden state [B, T, H]: pooler (dense + tanh) on
   * the [CLS] position, dropout, classifier; temporaries go to the manager of {@code hidden}.
   */
  public NDArray head(NDArray hidden, boolean training) {
    NDArray cls = hidden.get(":, 0, :");
    NDArray pooled = linear(cls, poolerWeight, poolerBias).tanh();
    pooled = dropout(pooled, config.hiddenDropoutProb(), training);
    return linear(pooled, classifierWeight, classifierBias);
  }

  private NDArray embed(NDManager scope, NDArray inputIds, NDArray tokenTypeIds, long tokens, boolean training) {
    NDArray words = embedding(indices(inputIds, scope), wordEmbeddings);
    NDArray positions = embedding(scope.arange(0, (int) tokens, 1, DataType.INT64), positionEmbeddings);
    NDArray sum = words.add(positions);
    NDArray types;
    if (tokenTypeIds == null) {
      // Type 0 everywhere: one row broadcast over [B, T] instead of a [B, T] lookup.
      types = embedding(scope.zeros(new Shape(1), DataType.INT64), tokenTypeEmbeddings);
    } else {
      types = inScope(embedding(indices(tokenTypeIds, scope), tokenTypeEmbeddings), scope);
    }
    sum = sum.add(types);
    NDArray normed = layerNorm(sum, embeddingNormWeight, embeddingNormBias, config.layerNormEps());
    return dropout(normed, config.hiddenDropoutProb(), training);
  }

  /** The tensor of HF name {@code name}, also found without the {@code bert.} prefix or as TF's gamma/beta. */
  static Safetensors.Tensor lookup(Map<String, Safetensors.Tensor> weights, String name) {
    Safetensors.Tensor t = weights.get(name);
    if (t == null && name.startsWith("bert.")) {
      t = weights.get(name.substring("bert.".length()));
    }
    if (t == null && name.contains("LayerNorm.")) {
      // Checkpoints converted from TensorFlow name LayerNorm parameters gamma and beta.
      String legacy =
          name.replace("LayerNorm.weight", "LayerNorm.gamma")
              .replace("LayerNorm.bias", "LayerNorm.beta");
      t = weights.get(legacy);
      if (t == null && legacy.startsWith("bert.")) {
        t = weights.get(legacy.substring("bert.".length()));
      }
    }
    return t;
  }
}
