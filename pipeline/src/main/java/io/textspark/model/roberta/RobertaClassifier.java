package io.textspark.model.roberta;

import static io.textspark.model.EncoderOps.dropout;
import static io.textspark.model.EncoderOps.embedding;
import static io.textspark.model.EncoderOps.indices;
import static io.textspark.model.EncoderOps.layerNorm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderDims;
import io.textspark.model.EncoderLayer;
import io.textspark.model.EncoderOps;
import io.textspark.model.HfConfig;
import io.textspark.model.Safetensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code RobertaForSequenceClassification}: BERT's post-LN layers, positions
 * numbered from {@code pad_token_id + 1} over the non-pad tokens (pad tokens get {@code
 * pad_token_id}), token type 0 everywhere, and a head of dropout, dense, tanh, dropout and {@code
 * out_proj} on the first token ({@code <s>}). Loads {@code roberta.*} or bare {@code RobertaModel}
 * names; a checkpoint without {@code classifier.*} gets a fresh head from the seed.
 */
public final class RobertaClassifier extends EncoderClassifier {
  /** The tensors of a trained head. */
  static final List<String> HEAD = List.of(
      "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias");
  private static final String PREFIX = "roberta.";

  private final HfConfig config;
  private final EncoderDims dims;
  private final Map<String, NDArray> p;
  private final EncoderLayer[] layers;

  private RobertaClassifier(HfConfig config, EncoderDims dims, NDManager manager, Map<String, NDArray> parameters) {
    super(manager, parameters);
    this.config = config;
    this.dims = dims;
    this.p = parameters;
    layers = new EncoderLayer[dims.numHiddenLayers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = EncoderLayer.of(parameters, PREFIX + "encoder.layer." + i + ".", EncoderLayer.Names.BERT);
    }
  }

  /** The names and shapes of {@code RobertaForSequenceClassification}'s parameters, in a stable order. */
  public static Map<String, long[]> parameterShapes(EncoderDims d, int numLabels) {
    long h = d.hiddenSize();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(PREFIX + "embeddings.word_embeddings.weight", new long[] {d.vocabSize(), h});
    shapes.put(PREFIX + "embeddings.position_embeddings.weight", new long[] {d.maxPositions(), h});
    shapes.put(PREFIX + "embeddings.token_type_embeddings.weight", new long[] {d.typeVocabSize(), h});
    shapes.put(PREFIX + "embeddings.LayerNorm.weight", new long[] {h});
    shapes.put(PREFIX + "embeddings.LayerNorm.bias", new long[] {h});
    for (int l = 0; l < d.numHiddenLayers(); l++) {
      EncoderLayer.addShapes(shapes, PREFIX + "encoder.layer." + l + ".", EncoderLayer.Names.BERT, h,
          d.intermediateSize());
    }
    shapes.put("classifier.dense.weight", new long[] {h, h});
    shapes.put("classifier.dense.bias", new long[] {h});
    shapes.put("classifier.out_proj.weight", new long[] {numLabels, h});
    shapes.put("classifier.out_proj.bias", new long[] {numLabels});
    return shapes;
  }

  /** The names and shapes of the parameters of the classifier {@code config} describes, in a stable order. */
  public static Map<String, long[]> parameterShapes(HfConfig config) {
    return parameterShapes(EncoderDims.of(config, 1), config.numLabels());
  }

  /** Builds the classifier of {@code config} from checkpoint tensors; see {@link io.textspark.model.ModelFamily#load}. */
  public static RobertaClassifier load(
      NDManager parent, HfConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    EncoderDims dims = EncoderDims.of(config, 1);
    Source source = new Source(name -> withOrWithoutPrefix(weights, name, PREFIX),
        name -> name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : null,
        name -> name.startsWith("classifier."), dims.initializerRange());
    Map.Entry<NDManager, Map<String, NDArray>> loaded =
        loadParameters(parent, parameterShapes(dims, config.numLabels()), source, seed);
    return new RobertaClassifier(config, dims, loaded.getKey(), loaded.getValue());
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
      NDArray hidden = embed(scope, inputIds, training);
      NDArray additiveMask = EncoderOps.additiveMask(attentionMask, scope);
      for (EncoderLayer layer : layers) {
        NDArray next = layer.forward(hidden, additiveMask, dims.layerSettings(), training);
        hidden.close();
        hidden = next;
      }
      NDArray logits = EncoderOps.firstTokenHead(hidden, dims.classifierDropout(), p.get("classifier.dense.weight"),
          p.get("classifier.dense.bias"), "tanh", dims.classifierDropout(), p.get("classifier.out_proj.weight"),
          p.get("classifier.out_proj.bias"), training);
      logits.attach(caller);
      return logits;
    }
  }

  private NDArray embed(NDManager scope, NDArray inputIds, boolean training) {
    NDArray ids = indices(inputIds, scope);
    // As Hugging Face's create_position_ids_from_input_ids: count non-pad tokens, offset by the pad id.
    NDArray notPad = ids.neq(dims.padTokenId()).toType(DataType.INT64, false);
    NDArray positionIds = notPad.cumSum(1).mul(notPad).add(dims.padTokenId());
    NDArray sum = embedding(ids, p.get(PREFIX + "embeddings.word_embeddings.weight"))
        .add(embedding(positionIds, p.get(PREFIX + "embeddings.position_embeddings.weight")))
        .add(embedding(scope.zeros(new Shape(1), DataType.INT64),
            p.get(PREFIX + "embeddings.token_type_embeddings.weight")));
    NDArray normed = layerNorm(sum, p.get(PREFIX + "embeddings.LayerNorm.weight"),
        p.get(PREFIX + "embeddings.LayerNorm.bias"), dims.layerNormEps());
    return dropout(normed, dims.hiddenDropout(), training);
  }
}
