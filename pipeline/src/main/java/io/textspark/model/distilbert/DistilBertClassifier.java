package io.textspark.model.distilbert;

import static io.textspark.model.EncoderOps.dropout;
import static io.textspark.model.EncoderOps.embedding;
import static io.textspark.model.EncoderOps.indices;
import static io.textspark.model.EncoderOps.layerNorm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOps;
import io.textspark.model.HfConfig;
import io.textspark.model.Safetensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code DistilBertForSequenceClassification}: word and position embeddings (no
 * token types), post-LN transformer blocks ({@code q_lin}... {@code output_layer_norm}), and a
 * head of {@code pre_classifier}, ReLU, dropout ({@code seq_classif_dropout}) and {@code
 * classifier} on the first token. Loads {@code distilbert.*} or bare {@code DistilBertModel} names.
 */
public final class DistilBertClassifier extends EncoderClassifier {
  /** The tensors of a trained head. */
  static final List<String> HEAD =
      List.of("pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias");
  private static final String PREFIX = "distilbert.";
  /** DistilBERT's names of a transformer block's parts. */
  static final EncoderLayer.Names NAMES = new EncoderLayer.Names(List.of("attention.q_lin", "attention.k_lin",
      "attention.v_lin", "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"));

  private final HfConfig config;
  private final DistilBertDims dims;
  private final Map<String, NDArray> p;
  private final EncoderLayer[] layers;

  private DistilBertClassifier(HfConfig config, DistilBertDims dims, NDManager manager, Map<String, NDArray> params) {
    super(manager, params);
    this.config = config;
    this.dims = dims;
    this.p = params;
    layers = new EncoderLayer[dims.layers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = EncoderLayer.of(params, PREFIX + "transformer.layer." + i + ".", NAMES);
    }
  }

  /** The names and shapes of {@code DistilBertForSequenceClassification}'s parameters, in a stable order. */
  static Map<String, long[]> parameterShapes(DistilBertDims d, int numLabels) {
    long h = d.dim();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(PREFIX + "embeddings.word_embeddings.weight", new long[] {d.vocabSize(), h});
    shapes.put(PREFIX + "embeddings.position_embeddings.weight", new long[] {d.maxPositions(), h});
    shapes.put(PREFIX + "embeddings.LayerNorm.weight", new long[] {h});
    shapes.put(PREFIX + "embeddings.LayerNorm.bias", new long[] {h});
    for (int l = 0; l < d.layers(); l++) {
      EncoderLayer.addShapes(shapes, PREFIX + "transformer.layer." + l + ".", NAMES, h, d.hiddenDim());
    }
    shapes.put("pre_classifier.weight", new long[] {h, h});
    shapes.put("pre_classifier.bias", new long[] {h});
    shapes.put("classifier.weight", new long[] {numLabels, h});
    shapes.put("classifier.bias", new long[] {numLabels});
    return shapes;
  }

  /** The names and shapes of the parameters of the classifier {@code config} describes, in a stable order. */
  public static Map<String, long[]> parameterShapes(HfConfig config) {
    return parameterShapes(DistilBertDims.of(config), config.numLabels());
  }

  /** Builds the classifier of {@code config} from checkpoint tensors; see {@link io.textspark.model.ModelFamily#load}. */
  public static DistilBertClassifier load(
      NDManager parent, HfConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    DistilBertDims dims = DistilBertDims.of(config);
    Source source = new Source(name -> withOrWithoutPrefix(weights, name, PREFIX),
        name -> name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : null,
        name -> name.startsWith("classifier.") || name.startsWith("pre_classifier."), dims.initializerRange());
    Map.Entry<NDManager, Map<String, NDArray>> loaded =
        loadParameters(parent, parameterShapes(dims, config.numLabels()), source, seed);
    return new DistilBertClassifier(config, dims, loaded.getKey(), loaded.getValue());
  }

  @Override
  public HfConfig config() {
    return config;
  }

  @Override
  public NDArray logits(NDArray inputIds, NDArray attentionMask, boolean training) {
    EncoderOps.checkInputs(inputIds, attentionMask, config.maxPositionEmbeddings());
    NDManager caller = inputIds.getManager();
    try (NDManager scope = caller.newSubManager()) {
      long tokens = inputIds.getShape().get(1);
      NDArray sum = embedding(indices(inputIds, scope), p.get(PREFIX + "embeddings.word_embeddings.weight"))
          .add(embedding(scope.arange(0, (int) tokens, 1, DataType.INT64),
              p.get(PREFIX + "embeddings.position_embeddings.weight")));
      NDArray hidden = dropout(layerNorm(sum, p.get(PREFIX + "embeddings.LayerNorm.weight"),
          p.get(PREFIX + "embeddings.LayerNorm.bias"), DistilBertDims.EPS), dims.dropout(), training);
      NDArray additiveMask = EncoderOps.additiveMask(attentionMask, scope);
      for (EncoderLayer layer : layers) {
        NDArray next = layer.forward(hidden, additiveMask, dims.layerSettings(), training);
        hidden.close();
        hidden = next;
      }
      NDArray logits = EncoderOps.firstTokenHead(hidden, 0, p.get("pre_classifier.weight"),
          p.get("pre_classifier.bias"), "relu", dims.classifierDropout(), p.get("classifier.weight"),
          p.get("classifier.bias"), training);
      logits.attach(caller);
      return logits;
    }
  }
}
