package io.textspark.model.debertav2;

import static io.textspark.model.EncoderOps.dropout;
import static io.textspark.model.EncoderOps.embedding;
import static io.textspark.model.EncoderOps.indices;
import static io.textspark.model.EncoderOps.inScope;
import static io.textspark.model.EncoderOps.layerNorm;
import static io.textspark.model.EncoderOps.linear;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.textspark.model.EncoderClassifier;
import io.textspark.model.EncoderDims;
import io.textspark.model.EncoderOps;
import io.textspark.model.HfConfig;
import io.textspark.model.Safetensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code DebertaV2ForSequenceClassification}: embeddings (word, absolute positions
 * when {@code position_biased_input}, token types when {@code type_vocab_size > 0}, {@code
 * embed_proj} when {@code embedding_size} differs) normalised and zeroed at padding, layers of
 * disentangled attention ({@link DebertaV2Layer}) sharing the relative-position embeddings {@code
 * deberta.encoder.rel_embeddings} (layer-normed by {@code deberta.encoder.LayerNorm} when {@code
 * norm_rel_ebd} says so), and the head: ContextPooler (dropout, {@code pooler.dense}, GELU),
 * dropout, {@code classifier}. Loads {@code deberta.*} or bare {@code DebertaV2Model} names.
 */
public final class DebertaV2Classifier extends EncoderClassifier {
  /** The tensors of a trained head. */
  static final List<String> HEAD =
      List.of("pooler.dense.weight", "pooler.dense.bias", "classifier.weight", "classifier.bias");
  private static final String PREFIX = "deberta.";
  private static final String E = PREFIX + "embeddings.";

  private final HfConfig config;
  private final DebertaV2Dims dims;
  private final Map<String, NDArray> p;
  private final DebertaV2Layer[] layers;

  private DebertaV2Classifier(HfConfig config, DebertaV2Dims dims, NDManager manager, Map<String, NDArray> params) {
    super(manager, params);
    this.config = config;
    this.dims = dims;
    this.p = params;
    layers = new DebertaV2Layer[dims.base().numHiddenLayers()];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = new DebertaV2Layer(dims, params, PREFIX + "encoder.layer." + i + ".");
    }
  }

  /** The names and shapes of {@code DebertaV2ForSequenceClassification}'s parameters, in a stable order. */
  static Map<String, long[]> parameterShapes(DebertaV2Dims d, int numLabels) {
    EncoderDims b = d.base();
    long h = b.hiddenSize();
    long e = b.embeddingSize();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(E + "word_embeddings.weight", new long[] {b.vocabSize(), e});
    if (d.positionBiasedInput()) {
      shapes.put(E + "position_embeddings.weight", new long[] {b.maxPositions(), e});
    }
    if (b.typeVocabSize() > 0) {
      shapes.put(E + "token_type_embeddings.weight", new long[] {b.typeVocabSize(), e});
    }
    if (e != h) {
      shapes.put(E + "embed_proj.weight", new long[] {h, e});
    }
    shapes.put(E + "LayerNorm.weight", new long[] {h});
    shapes.put(E + "LayerNorm.bias", new long[] {h});
    for (int l = 0; l < b.numHiddenLayers(); l++) {
      String a = PREFIX + "encoder.layer." + l + ".attention.";
      for (String proj : List.of("query_proj", "key_proj", "value_proj")) {
        shapes.put(a + "self." + proj + ".weight", new long[] {h, h});
        shapes.put(a + "self." + proj + ".bias", new long[] {h});
      }
      // Without share_att_key, each position attention type projects the positions with its own layer.
      boolean own = d.relativeAttention() && !d.shareAttKey();
      if (own && d.c2p()) {
        shapes.put(a + "self.pos_key_proj.weight", new long[] {h, h});
        shapes.put(a + "self.pos_key_proj.bias", new long[] {h});
      }
      if (own && d.p2c()) {
        shapes.put(a + "self.pos_query_proj.weight", new long[] {h, h});
        shapes.put(a + "self.pos_query_proj.bias", new long[] {h});
      }
      String l2 = PREFIX + "encoder.layer." + l + ".";
      shapes.put(a + "output.dense.weight", new long[] {h, h});
      shapes.put(a + "output.dense.bias", new long[] {h});
      shapes.put(a + "output.LayerNorm.weight", new long[] {h});
      shapes.put(a + "output.LayerNorm.bias", new long[] {h});
      shapes.put(l2 + "intermediate.dense.weight", new long[] {b.intermediateSize(), h});
      shapes.put(l2 + "intermediate.dense.bias", new long[] {b.intermediateSize()});
      shapes.put(l2 + "output.dense.weight", new long[] {h, b.intermediateSize()});
      shapes.put(l2 + "output.dense.bias", new long[] {h});
      shapes.put(l2 + "output.LayerNorm.weight", new long[] {h});
      shapes.put(l2 + "output.LayerNorm.bias", new long[] {h});
    }
    if (d.relativeAttention()) {
      shapes.put(PREFIX + "encoder.rel_embeddings.weight", new long[] {2L * d.span(), h});
    }
    if (d.normRelEmbedding()) {
      shapes.put(PREFIX + "encoder.LayerNorm.weight", new long[] {h});
      shapes.put(PREFIX + "encoder.LayerNorm.bias", new long[] {h});
    }
    shapes.put("pooler.dense.weight", new long[] {d.poolerHiddenSize(), h});
    shapes.put("pooler.dense.bias", new long[] {d.poolerHiddenSize()});
    shapes.put("classifier.weight", new long[] {numLabels, d.poolerHiddenSize()});
    shapes.put("classifier.bias", new long[] {numLabels});
    return shapes;
  }

  /** The names and shapes of the parameters of the classifier {@code config} describes, in a stable order. */
  public static Map<String, long[]> parameterShapes(HfConfig config) {
    return parameterShapes(DebertaV2Dims.of(config), config.numLabels());
  }

  /** Builds the classifier of {@code config} from checkpoint tensors; see {@link io.textspark.model.ModelFamily#load}. */
  public static DebertaV2Classifier load(
      NDManager parent, HfConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    DebertaV2Dims dims = DebertaV2Dims.of(config);
    Source source = new Source(name -> withOrWithoutPrefix(weights, name, PREFIX),
        name -> name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : null,
        name -> name.startsWith("classifier.") || name.startsWith("pooler."), dims.base().initializerRange());
    Map.Entry<NDManager, Map<String, NDArray>> loaded =
        loadParameters(parent, parameterShapes(dims, config.numLabels()), source, seed);
    return new DebertaV2Classifier(config, dims, loaded.getKey(), loaded.getValue());
  }

  @Override
  public HfConfig config() {
    return config;
  }

  @Override
  public NDArray logits(NDArray inputIds, NDArray attentionMask, boolean training) {
    EncoderOps.checkInputs(inputIds, attentionMask, dims.positionBiasedInput() ? config.maxPositionEmbeddings() : 0);
    NDManager caller = inputIds.getManager();
    try (NDManager scope = caller.newSubManager()) {
      int tokens = (int) inputIds.getShape().get(1);
      NDArray hidden = embed(scope, inputIds, attentionMask, tokens, training);
      NDArray additiveMask = EncoderOps.additiveMask(attentionMask, scope);
      NDArray rel = null;
      NDArray c2pIndex = null;
      NDArray p2cIndex = null;
      if (dims.relativeAttention()) {
        rel = p.get(PREFIX + "encoder.rel_embeddings.weight");
        if (dims.normRelEmbedding()) {
          rel = layerNorm(rel, p.get(PREFIX + "encoder.LayerNorm.weight"), p.get(PREFIX + "encoder.LayerNorm.bias"),
              dims.base().layerNormEps());
          rel.attach(scope);
        }
        NDArray relative = relativePositions(scope, tokens);
        int span = dims.span();
        c2pIndex = relative.add(span).clip(0, 2 * span - 1);
        p2cIndex = relative.neg().add(span).clip(0, 2 * span - 1);
      }
      for (DebertaV2Layer layer : layers) {
        NDArray next = layer.forward(hidden, additiveMask, rel, c2pIndex, p2cIndex, training);
        hidden.close();
        hidden = next;
      }
      NDArray logits = EncoderOps.firstTokenHead(hidden, dims.poolerDropout(), p.get("pooler.dense.weight"),
          p.get("pooler.dense.bias"), dims.poolerAct(), dims.clsDropout(), p.get("classifier.weight"),
          p.get("classifier.bias"), training);
      logits.attach(caller);
      return logits;
    }
  }

  private NDArray embed(NDManager scope, NDArray inputIds, NDArray attentionMask, int tokens, boolean training) {
    NDArray sum = embedding(indices(inputIds, scope), p.get(E + "word_embeddings.weight"));
    if (dims.positionBiasedInput()) {
      sum = sum.add(embedding(scope.arange(0, tokens, 1, DataType.INT64), p.get(E + "position_embeddings.weight")));
    }
    if (dims.base().typeVocabSize() > 0) {
      sum = sum.add(embedding(scope.zeros(new Shape(1), DataType.INT64), p.get(E + "token_type_embeddings.weight")));
    }
    if (p.containsKey(E + "embed_proj.weight")) {
      sum = linear(sum, p.get(E + "embed_proj.weight"), null);
    }
    NDArray x = layerNorm(sum, p.get(E + "LayerNorm.weight"), p.get(E + "LayerNorm.bias"), dims.base().layerNormEps());
    if (attentionMask != null) {
      // Hugging Face zeroes the embeddings of padding; real tokens never see them either way.
      x = x.mul(inScope(attentionMask.toType(DataType.FLOAT32, true), scope).expandDims(2));
    }
    return dropout(x, dims.base().hiddenDropout(), training);
  }

  /**
   * The relative position of key k seen from query q, q - k [T, T], in log buckets beyond half of
   * {@code position_buckets} when that is set, computed with float32 tensor ops as Hugging Face's
   * {@code make_log_bucket_position} does so that bucket edges round the same way.
   */
  private NDArray relativePositions(NDManager scope, int tokens) {
    NDArray ids = scope.arange(0, tokens, 1, DataType.INT64);
    NDArray rel = ids.expandDims(1).sub(ids.expandDims(0));
    int buckets = dims.positionBuckets();
    int maxPosition = dims.maxRelativePositions();
    if (buckets <= 0 || maxPosition <= 0) {
      return rel;
    }
    int mid = buckets / 2;
    NDArray inside = rel.lt(mid).logicalAnd(rel.gt(-mid));
    NDArray absPos = NDArrays.where(inside, scope.full(rel.getShape(), (float) (mid - 1)),
        rel.abs().toType(DataType.FLOAT32, false));
    NDArray ratio = absPos.div(scope.create((float) mid));
    NDArray denominator = scope.create((float) ((maxPosition - 1) / (double) mid)).log();
    NDArray logPos = ratio.log().div(denominator).mul(scope.create((float) (mid - 1))).ceil()
        .add(scope.create((float) mid));
    NDArray result = NDArrays.where(absPos.lte(mid), rel.toType(DataType.FLOAT32, false),
        logPos.mul(rel.sign().toType(DataType.FLOAT32, false)));
    return result.toType(DataType.INT64, false);
  }
}
