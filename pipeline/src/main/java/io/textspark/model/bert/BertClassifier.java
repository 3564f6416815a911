package io.textspark.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.textspark.TextSparkException;
import io.textspark.model.Safetensors;
import io.textspark.model.TextClassifier;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
public final class BertClassifier implements TextClassifier {
  /** Hugging Face fills masked attention scores with the dtype minimum; so do we. */
  private static final float MASK_FILL = -Float.MAX_VALUE;

  private final BertConfig config;
  private final NDManager manager;
  private final Map<String, NDArray> parameters;
  private final Layer[] layers;
  private final NDArray wordEmbeddings;
  private final NDArray positionEmbeddings;
  private final NDArray tokenTypeEmbeddings;
  private final NDArray embeddingNormWeight;
  private final NDArray embeddingNormBias;
  private final NDArray poolerWeight;
  private final NDArray poolerBias;
  private final NDArray classifierWeight;
  private final NDArray classifierBias;

  /** The parameters of one transformer layer, looked up once instead of by name per forward. */
  private record Layer(
      NDArray queryWeight,
      NDArray queryBias,
      NDArray keyWeight,
      NDArray keyBias,
      NDArray valueWeight,
      NDArray valueBias,
      NDArray attentionOutWeight,
      NDArray attentionOutBias,
      NDArray attentionNormWeight,
      NDArray attentionNormBias,
      NDArray intermediateWeight,
      NDArray intermediateBias,
      NDArray outputWeight,
      NDArray outputBias,
      NDArray outputNormWeight,
      NDArray outputNormBias) {}

  private BertClassifier(BertConfig config, NDManager manager, Map<String, NDArray> parameters) {
    this.config = config;
    this.manager = manager;
    this.parameters = Collections.unmodifiableMap(parameters);
    wordEmbeddings = parameters.get("bert.embeddings.word_embeddings.weight");
    positionEmbeddings = parameters.get("bert.embeddings.position_embeddings.weight");
    tokenTypeEmbeddings = parameters.get("bert.embeddings.token_type_embeddings.weight");
    embeddingNormWeight = parameters.get("bert.embeddings.LayerNorm.weight");
    embeddingNormBias = parameters.get("bert.embeddings.LayerNorm.bias");
    layers = new Layer[config.numHiddenLayers()];
    for (int i = 0; i < layers.length; i++) {
      String p = "bert.encoder.layer." + i + ".";
      layers[i] =
          new Layer(
              parameters.get(p + "attention.self.query.weight"),
              parameters.get(p + "attention.self.query.bias"),
              parameters.get(p + "attention.self.key.weight"),
              parameters.get(p + "attention.self.key.bias"),
              parameters.get(p + "attention.self.value.weight"),
              parameters.get(p + "attention.self.value.bias"),
              parameters.get(p + "attention.output.dense.weight"),
              parameters.get(p + "attention.output.dense.bias"),
              parameters.get(p + "attention.output.LayerNorm.weight"),
              parameters.get(p + "attention.output.LayerNorm.bias"),
              parameters.get(p + "intermediate.dense.weight"),
              parameters.get(p + "intermediate.dense.bias"),
              parameters.get(p + "output.dense.weight"),
              parameters.get(p + "output.dense.bias"),
              parameters.get(p + "output.LayerNorm.weight"),
              parameters.get(p + "output.LayerNorm.bias"));
    }
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
    long i = config.intermediateSize();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("bert.embeddings.word_embeddings.weight", new long[] {config.vocabSize(), h});
    shapes.put(
        "bert.embeddings.position_embeddings.weight",
        new long[] {config.maxPositionEmbeddings(), h});
    shapes.put(
        "bert.embeddings.token_type_embeddings.weight", new long[] {config.typeVocabSize(), h});
    shapes.put("bert.embeddings.LayerNorm.weight", new long[] {h});
    shapes.put("bert.embeddings.LayerNorm.bias", new long[] {h});
    for (int l = 0; l < config.numHiddenLayers(); l++) {
      String p = "bert.encoder.layer." + l + ".";
      for (String name : List.of("query", "key", "value")) {
        shapes.put(p + "attention.self." + name + ".weight", new long[] {h, h});
        shapes.put(p + "attention.self." + name + ".bias", new long[] {h});
      }
      shapes.put(p + "attention.output.dense.weight", new long[] {h, h});
      shapes.put(p + "attention.output.dense.bias", new long[] {h});
      shapes.put(p + "attention.output.LayerNorm.weight", new long[] {h});
      shapes.put(p + "attention.output.LayerNorm.bias", new long[] {h});
      shapes.put(p + "intermediate.dense.weight", new long[] {i, h});
      shapes.put(p + "intermediate.dense.bias", new long[] {i});
      shapes.put(p + "output.dense.weight", new long[] {h, i});
      shapes.put(p + "output.dense.bias", new long[] {h});
      shapes.put(p + "output.LayerNorm.weight", new long[] {h});
      shapes.put(p + "output.LayerNorm.bias", new long[] {h});
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
    Map<String, long[]> shapes = parameterShapes(config);
    // Validate everything before allocating native memory, so errors leak nothing.
    Map<String, Safetensors.Tensor> found = new LinkedHashMap<>();
    List<String> fresh = new ArrayList<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      String name = e.getKey();
      Safetensors.Tensor tensor = lookup(weights, name);
      if (tensor == null) {
        if (isHead(name)) {
          fresh.add(name);
          continue;
        }
        throw new TextSparkException(
            "checkpoint tensor "
                + name
                + " (or "
                + name.substring("bert.".length())
                + ") is missing; expected shape "
                + Arrays.toString(e.getValue())
                + ". The checkpoint does not match config.json: check that both come from the same"
                + " model.");
      }
      if (!Arrays.equals(tensor.shape(), e.getValue())) {
        String fix =
            name.startsWith("classifier.")
                ? " The checkpoint's head has a different number of labels: make"
                      + " id2label/num_labels match it, or remove classifier.* from the checkpoint"
                      + " to train a new head."
                : " The checkpoint does not match config.json: check that both come from the same"
                      + " model.";
        throw new TextSparkException(
            "checkpoint tensor "
                + name
                + " has shape "
                + Arrays.toString(tensor.shape())
                + " but config.json implies shape "
                + Arrays.toString(e.getValue())
                + "."
                + fix);
      }
      found.put(name, tensor);
    }
    boolean halfHead = fresh.contains("classifier.weight") != fresh.contains("classifier.bias");
    boolean halfPooler =
        fresh.contains("bert.pooler.dense.weight") != fresh.contains("bert.pooler.dense.bias");
    if (halfHead || halfPooler) {
      throw new TextSparkException(
          "checkpoint has only one of the weight and bias of the "
              + (halfHead ? "classifier" : "pooler")
              + ": missing "
              + fresh
              + ". Write the checkpoint again, or remove both tensors to start from a fresh head.");
    }
    NDManager owned = parent.newSubManager();
    try {
      Map<String, NDArray> parameters = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        String name = e.getKey();
        NDArray array;
        if (found.containsKey(name)) {
          array = found.get(name).toNDArray(owned);
        } else {
          array = freshParameter(owned, name, e.getValue(), config.initializerRange(), seed);
        }
        array.setName(name);
        parameters.put(name, array);
      }
      return new BertClassifier(config, owned, parameters);
    } catch (RuntimeException e) {
      owned.close();
      throw e;
    }
  }

  /** The architecture this model was built for. */
  @Override
  public BertConfig config() {
    return config;
  }

  /**
   * Every parameter by its Hugging Face name, in a stable order (embeddings, layers, pooler,
   * classifier); the map is read-only but the arrays are live, so an optimizer updates them in
   * place.
   */
  @Override
  public Map<String, NDArray> parameters() {
    return parameters;
  }

  /** Turns gradient tracking on or off for every parameter (on before a training step). */
  @Override
  public void setRequiresGradient(boolean requiresGradient) {
    for (NDArray p : parameters.values()) {
      p.setRequiresGradient(requiresGradient);
    }
  }

  /**
   * The gradient of every parameter after a backward pass, by name in {@link #parameters()} order,
   * attached to {@code into}. DJL's {@code getGradient()} returns a new handle in the parameter's
   * manager on every call, so collecting them here keeps the model's manager from growing.
   */
  @Override
  public Map<String, NDArray> gradients(NDManager into) {
    Map<String, NDArray> gradients = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      NDArray gradient = e.getValue().getGradient();
      gradient.attach(into);
      gradients.put(e.getKey(), gradient);
    }
    return gradients;
  }

  /**
   * Sets every parameter gradient to zero, as needed before each backward pass because PyTorch
   * accumulates gradients across passes. Unlike {@code GradientCollector.zeroGradients()} this
   * leaves no stray gradient handles in the model's manager.
   */
  @Override
  public void zeroGradients() {
    for (NDArray p : parameters.values()) {
      if (p instanceof PtNDArray pt && p.hasGradient()) {
        // zero_() in place also clears NaN, which multiplying by zero would keep.
        JniUtils.zeroGrad(pt);
      } else if (p.hasGradient()) {
        try (NDArray gradient = p.getGradient()) {
          gradient.muli(0);
        }
      }
    }
  }

  /**
   * The ordered name to array map to pass to {@link Safetensors#writeArrays}; names are those of
   * {@code BertForSequenceClassification}, so the file also loads in Hugging Face transformers.
   */
  public Map<String, NDArray> stateDict() {
    return parameters;
  }

  /** Writes all parameters to {@code out} in safetensors format with the given metadata. */
  @Override
  public void save(OutputStream out, Map<String, String> metadata) {
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    if (metadata != null) {
      meta.putAll(metadata);
    }
    Safetensors.writeArrays(out, parameters, meta);
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
  public NDArray forward(
      NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
    Shape shape = inputIds.getShape();
    if (shape.dimension() != 2) {
      throw new TextSparkException(
          "inputIds must have shape [batch, tokens] but has shape " + shape + ".");
    }
    long batch = shape.get(0);
    long tokens = shape.get(1);
    if (tokens > config.maxPositionEmbeddings()) {
      throw new TextSparkException(
          "a batch has "
              + tokens
              + " tokens but the model supports at most max_position_embeddings = "
              + config.maxPositionEmbeddings()
              + "; truncate the input to that length.");
    }
    if (attentionMask != null && !attentionMask.getShape().equals(shape)) {
      throw new TextSparkException(
          "attentionMask has shape "
              + attentionMask.getShape()
              + " but inputIds has shape "
              + shape
              + ".");
    }
    if (tokenTypeIds != null && !tokenTypeIds.getShape().equals(shape)) {
      throw new TextSparkException(
          "tokenTypeIds has shape "
              + tokenTypeIds.getShape()
              + " but inputIds has shape "
              + shape
              + ".");
    }
    NDManager caller = inputIds.getManager();
    try (NDManager scope = caller.newSubManager()) {
      NDArray hidden = embed(scope, inputIds, tokenTypeIds, tokens, training);
      NDArray additiveMask = null;
      if (attentionMask != null) {
        // (mask - 1) * MAX is 0 for tokens and the dtype minimum for padding, as in Hugging Face.
        additiveMask =
            inScope(attentionMask.toType(DataType.FLOAT32, true), scope)
                .sub(1f)
                .mul(-MASK_FILL)
                .reshape(batch, 1, 1, tokens);
      }
      for (Layer layer : layers) {
        NDArray next = layer(layer, hidden, additiveMask, batch, tokens, training);
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
    NDArray pooled = Linear.linear(cls, poolerWeight, poolerBias).head().tanh();
    pooled = dropout(pooled, config.hiddenDropoutProb(), training);
    return Linear.linear(pooled, classifierWeight, classifierBias).head();
  }

  /** Releases the parameters. */
  @Override
  public void close() {
    manager.close();
  }

  private NDArray embed(
      NDManager scope, NDArray inputIds, NDArray tokenTypeIds, long tokens, boolean training) {
    NDArray ids = indices(inputIds, scope);
    NDArray words = Embedding.embedding(ids, wordEmbeddings, SparseFormat.DENSE).head();
    NDArray positionIds = scope.arange(0, (int) tokens, 1, DataType.INT64);
    NDArray positions =
        Embedding.embedding(positionIds, positionEmbeddings, SparseFormat.DENSE).head();
    NDArray sum = words.add(positions);
    NDArray types;
    if (tokenTypeIds == null) {
      // Type 0 everywhere: one row broadcast over [B, T] instead of a [B, T] lookup.
      types =
          Embedding.embedding(
                  scope.zeros(new Shape(1), DataType.INT64),
                  tokenTypeEmbeddings,
                  SparseFormat.DENSE)
              .head();
    } else {
      types =
          inScope(
              Embedding.embedding(
                      indices(tokenTypeIds, scope), tokenTypeEmbeddings, SparseFormat.DENSE)
                  .head(),
              scope);
    }
    sum = sum.add(types);
    NDArray normed = layerNorm(sum, embeddingNormWeight, embeddingNormBias);
    return dropout(normed, config.hiddenDropoutProb(), training);
  }

  /**
   * One post-LN transformer layer; its temporaries are closed, only its output survives in scope.
   */
  private NDArray layer(
      Layer p, NDArray input, NDArray additiveMask, long batch, long tokens, boolean training) {
    NDManager outer = input.getManager();
    int heads = config.numAttentionHeads();
    int headDim = config.headDim();
    try (NDManager temp = outer.newSubManager()) {
      // Ops attach results to the manager of their first operand, so borrowing the input puts
      // every temporary of this layer into temp; tempAttach returns the input to outer afterwards.
      input.tempAttach(temp);
      Shape split = new Shape(batch, tokens, heads, headDim);
      NDArray query =
          Linear.linear(input, p.queryWeight(), p.queryBias())
              .head()
              .reshape(split)
              .transpose(0, 2, 1, 3);
      NDArray keyT =
          Linear.linear(input, p.keyWeight(), p.keyBias())
              .head()
              .reshape(split)
              .transpose(0, 2, 3, 1);
      NDArray value =
          Linear.linear(input, p.valueWeight(), p.valueBias())
              .head()
              .reshape(split)
              .transpose(0, 2, 1, 3);
      // Scaling the [B, h, T, d] query is cheaper than scaling the [B, h, T, T] scores. The factor is
      // a tensor PyTorch allocates: autograd keeps it for the backward pass, and DJL's mul(Number)
      // would give it a Java-owned buffer that is freed once DJL closes the handle (garbage gradients).
      NDArray scores;
      try (NDArray scale =
          query.getManager().full(new Shape(), (float) (1.0 / Math.sqrt(headDim)), query.getDataType())) {
        scores = query.mul(scale).matMul(keyT);
      }
      if (additiveMask != null) {
        scores = scores.add(additiveMask);
      }
      NDArray probs = dropout(scores.softmax(-1), config.attentionProbsDropoutProb(), training);
      NDArray context =
          probs.matMul(value).transpose(0, 2, 1, 3).reshape(batch, tokens, config.hiddenSize());
      NDArray attended =
          Linear.linear(context, p.attentionOutWeight(), p.attentionOutBias()).head();
      attended = dropout(attended, config.hiddenDropoutProb(), training);
      NDArray afterAttention =
          layerNorm(attended.add(input), p.attentionNormWeight(), p.attentionNormBias());
      NDArray intermediate =
          Activation.gelu(
              Linear.linear(afterAttention, p.intermediateWeight(), p.intermediateBias()).head());
      NDArray output = Linear.linear(intermediate, p.outputWeight(), p.outputBias()).head();
      output = dropout(output, config.hiddenDropoutProb(), training);
      NDArray result =
          layerNorm(output.add(afterAttention), p.outputNormWeight(), p.outputNormBias());
      result.attach(outer);
      return result;
    }
  }

  private NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta) {
    return LayerNorm.layerNorm(
            x, new Shape(config.hiddenSize()), gamma, beta, (float) config.layerNormEps())
        .head();
  }

  private static NDArray dropout(NDArray x, double rate, boolean training) {
    if (!training || rate == 0) {
      return x;
    }
    return Dropout.dropout(x, (float) rate, true).head();
  }

  /**
   * INT64 indices in {@code scope}, as PyTorch's embedding wants; the caller's array is untouched.
   */
  private static NDArray indices(NDArray ids, NDManager scope) {
    NDArray converted = ids.toType(DataType.INT64, true);
    return inScope(converted, scope);
  }

  /** Moves an array created from a caller's array (hence in the caller's manager) into scope. */
  private static NDArray inScope(NDArray array, NDManager scope) {
    array.attach(scope);
    return array;
  }

  private static boolean isHead(String name) {
    return name.startsWith("classifier.") || name.startsWith("bert.pooler.");
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

  /**
   * Normal(0, std) weights and zero biases from a per-name stream, so init order does not matter.
   */
  private static NDArray freshParameter(
      NDManager manager, String name, long[] shape, double std, long seed) {
    int count = (int) Safetensors.elementCount(shape);
    float[] values = new float[count];
    if (name.endsWith(".weight")) {
      Random random = new Random(seed * 1_000_003L + name.hashCode());
      for (int i = 0; i < count; i++) {
        values[i] = (float) (random.nextGaussian() * std);
      }
    }
    return manager.create(values, new Shape(shape));
  }
}
