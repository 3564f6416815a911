package io.textspark.model.bert;

import static io.textspark.onnx.OnnxGraph.attr;

import io.textspark.TextSparkException;
import io.textspark.model.Safetensors;
import io.textspark.onnx.OnnxGraph;
import io.textspark.onnx.proto.Onnx.GraphProto;
import io.textspark.onnx.proto.Onnx.TensorProto;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The ONNX graph of a {@link BertClassifier}: the same computation written with standard ONNX ops,
 * in the shapes ONNX Runtime's graph optimizer recognises (LayerNormalization after an Add becomes
 * SkipLayerNormalization, the erf GELU after its bias Add becomes BiasGelu). The last layer runs
 * its queries, feed-forward and layer norms for the [CLS] token only, the one the head reads.
 *
 * <p>Inputs {@code input_ids}, {@code attention_mask} and {@code token_type_ids} (int64, [batch,
 * sequence]; feed zeros as token types for single sentences, as textspark does), output {@code
 * logits} (float, [batch, num_labels]). Weights are initializers: the embedding tables and
 * LayerNorm parameters under their Hugging Face names, dense weights transposed to [in, out] for
 * MatMul under the Hugging Face name plus {@code .T}, the pooler and classifier as Gemm weights in
 * their Hugging Face layout.
 */
public final class BertOnnx {
  /** The graph inputs, in order. */
  public static final List<String> INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");
  /** The graph output. */
  public static final String OUTPUT = "logits";

  private static final String BATCH = "batch";
  private static final String SEQUENCE = "sequence";

  private final BertConfig config;
  private final Map<String, Safetensors.Tensor> weights;
  private final OnnxGraph g = new OnnxGraph("textspark_bert_classifier");

  private BertOnnx(BertConfig config, Map<String, Safetensors.Tensor> weights) {
    this.config = config;
    this.weights = weights;
  }

  /**
   * The graph of {@code config} with {@code weights} (Hugging Face names, with or without the
   * {@code bert.} prefix). Refuses weights without a pooler or classifier: textspark would score
   * such a model with a freshly drawn head, which an export cannot reproduce.
   *
   * @throws TextSparkException naming the tensor when one is missing or has the wrong shape
   */
  public static GraphProto graph(BertConfig config, Map<String, Safetensors.Tensor> weights) {
    return new BertOnnx(config, weights).build();
  }

  private GraphProto build() {
    String ids = g.input(INPUTS.get(0), TensorProto.DataType.INT64, BATCH, SEQUENCE);
    String mask = g.input(INPUTS.get(1), TensorProto.DataType.INT64, BATCH, SEQUENCE);
    String types = g.input(INPUTS.get(2), TensorProto.DataType.INT64, BATCH, SEQUENCE);

    // Embeddings: word + position + token type, then LayerNorm. Position ids 0..sequence-1 come from
    // an exclusive running sum of ones shaped like input_ids, so shape inference keeps [batch, sequence]
    // (a Slice or Range of the table would lose the symbolic axis, and with it ONNX Runtime's fusions).
    String words = g.node("Gather", List.of(weight("bert.embeddings.word_embeddings.weight"), ids));
    String ones = g.node("Add", List.of(g.node("Mul", List.of(ids, scalarLong("long_zero", 0))),
        scalarLong("long_one", 1)));
    String positionIds = g.node("CumSum", List.of(ones, scalarLong("long_one", 1)), attr("exclusive", 1L));
    String positions = g.node("Gather", List.of(weight("bert.embeddings.position_embeddings.weight"), positionIds));
    String tokenTypes = g.node("Gather", List.of(weight("bert.embeddings.token_type_embeddings.weight"), types));
    String sum = g.node("Add", List.of(g.node("Add", List.of(words, positions)), tokenTypes));
    String hidden = layerNorm(sum, "bert.embeddings.LayerNorm");

    // (1 - mask) * lowest float, [batch, 1, 1, sequence]: 0 for tokens, the dtype minimum for padding.
    String expanded = g.node("Unsqueeze", List.of(g.node("Unsqueeze", List.of(mask, ints("one", 1))),
        ints("two", 2)));
    String asFloat = g.node("Cast", List.of(expanded), attr("to", (long) TensorProto.DataType.FLOAT.getNumber()));
    String additiveMask = g.node("Mul", List.of(g.node("Sub", List.of(scalar("float_one", 1f), asFloat)),
        scalar("mask_fill", -Float.MAX_VALUE)));

    // Only [CLS] leaves the encoder, so the last layer computes its queries and everything after
    // attention for that token alone (keys and values still for every token): the same logits for
    // about a sixth less arithmetic in a 6-layer model.
    int last = config.numHiddenLayers() - 1;
    for (int l = 0; l < last; l++) {
      hidden = layer(hidden, hidden, additiveMask, "bert.encoder.layer." + l + ".");
    }
    String firstToken = g.node("Gather", List.of(hidden, ints("first_token", 0)), attr("axis", 1L));
    hidden = layer(hidden, firstToken, additiveMask, "bert.encoder.layer." + last + ".");

    // Head: [CLS] vector -> pooler dense + tanh -> classifier.
    String cls = g.node("Gather", List.of(hidden, scalarLong("cls_index", 0)), attr("axis", 1L));
    String pooled = g.node("Tanh", List.of(gemm(cls, "bert.pooler.dense")));
    String logits = g.nodeNamed("", "Gemm", "classifier", List.of(pooled, weight("classifier.weight"),
        weight("classifier.bias")), List.of(OUTPUT), attr("transB", 1L)).get(0);
    g.output(logits, TensorProto.DataType.FLOAT, BATCH, (long) config.numLabels());
    return g.graph();
  }

  /**
   * One post-LN transformer layer, in the op pattern of Hugging Face BERT exports, for the tokens of
   * {@code queries} ([batch, tokens, hidden]: x itself, or some of its tokens) attending to all of x.
   */
  private String layer(String x, String queries, String additiveMask, String p) {
    String context = selfAttention(x, queries, additiveMask, p);
    String attended = dense(context, p + "attention.output.dense");
    String afterAttention = layerNorm(g.node("Add", List.of(attended, queries)), p + "attention.output.LayerNorm");
    String intermediate = gelu(dense(afterAttention, p + "intermediate.dense"));
    String output = dense(intermediate, p + "output.dense");
    return layerNorm(g.node("Add", List.of(output, afterAttention)), p + "output.LayerNorm");
  }

  /** Multi-head attention of {@code queries} over x: the context, [batch, query tokens, hidden]. */
  private String selfAttention(String x, String queries, String additiveMask, String p) {
    int heads = config.numAttentionHeads();
    String split = ints("split_heads", 0, 0, heads, config.headDim());
    String query = transpose(g.node("Reshape", List.of(dense(queries, p + "attention.self.query"), split)), 0, 2, 1,
        3);
    String keyT = transpose(g.node("Reshape", List.of(dense(x, p + "attention.self.key"), split)), 0, 2, 3, 1);
    String value = transpose(g.node("Reshape", List.of(dense(x, p + "attention.self.value"), split)), 0, 2, 1, 3);
    String scores = g.node("Div", List.of(g.node("MatMul", List.of(query, keyT)),
        scalar("sqrt_head_dim", (float) Math.sqrt(config.headDim()))));
    String probs = g.node("Softmax", List.of(g.node("Add", List.of(scores, additiveMask))), attr("axis", 3L));
    return g.node("Reshape", List.of(transpose(g.node("MatMul", List.of(probs, value)), 0, 2, 1, 3),
        ints("merge_heads", 0, 0, config.hiddenSize())));
  }

  /** x W^T + b as MatMul then Add, the weight stored transposed ([in, out]). */
  private String dense(String x, String prefix) {
    String name = prefix + ".weight";
    Safetensors.Tensor w = tensor(name);
    long[] shape = w.shape();
    float[] transposed = transpose(w.toFloatArray(), (int) shape[0], (int) shape[1]);
    String wt = g.floats(name + ".T", transposed, shape[1], shape[0]);
    return g.node("Add", List.of(g.node("MatMul", List.of(x, wt)), weight(prefix + ".bias")));
  }

  /** x W^T + b for a 2-D x, as one Gemm with the weight in its Hugging Face layout. */
  private String gemm(String x, String prefix) {
    return g.node("Gemm", List.of(x, weight(prefix + ".weight"), weight(prefix + ".bias")), attr("transB", 1L));
  }

  /** GELU in its erf form, x * 0.5 * (1 + erf(x / sqrt 2)), in the order ONNX Runtime fuses. */
  private String gelu(String x) {
    String erf = g.node("Erf", List.of(g.node("Div", List.of(x, scalar("sqrt_two", (float) Math.sqrt(2))))));
    String onePlus = g.node("Add", List.of(erf, scalar("float_one", 1f)));
    return g.node("Mul", List.of(g.node("Mul", List.of(x, onePlus)), scalar("half", 0.5f)));
  }

  private String layerNorm(String x, String prefix) {
    return g.node("LayerNormalization", List.of(x, weight(prefix + ".weight"), weight(prefix + ".bias")),
        attr("axis", -1L), attr("epsilon", (float) config.layerNormEps()));
  }

  private String transpose(String x, long... perm) {
    return g.node("Transpose", List.of(x), attr("perm", perm));
  }

  /** The initializer of a Hugging Face tensor, added on first use. */
  private String weight(String name) {
    if (!g.has(name)) {
      Safetensors.Tensor t = tensor(name);
      g.floats(name, t.toFloatArray(), t.shape());
    }
    return name;
  }

  /** A shared int64 constant (1-D), added on first use. */
  private String ints(String name, long... values) {
    return g.has(name) ? name : g.int64s(name, values, values.length);
  }

  private String scalarLong(String name, long value) {
    return g.has(name) ? name : g.int64s(name, new long[] {value});
  }

  private String scalar(String name, float value) {
    return g.has(name) ? name : g.scalar(name, value);
  }

  /** The tensor of {@code name} with the shape {@code config} implies. */
  private Safetensors.Tensor tensor(String name) {
    long[] expected = BertClassifier.parameterShapes(config).get(name);
    Safetensors.Tensor t = BertClassifier.lookup(weights, name);
    if (t == null) {
      String why = name.startsWith("classifier.") || name.startsWith("bert.pooler.")
          ? " The model has no trained head: export a checkpoint of `textspark train`, which saves the pooler and"
              + " the classifier."
          : " The weights do not match config.json: check that both come from the same model.";
      throw new TextSparkException("cannot export: tensor " + name + " (shape " + Arrays.toString(expected)
          + ") is missing from the weights." + why);
    }
    if (!Arrays.equals(t.shape(), expected)) {
      throw new TextSparkException("cannot export: tensor " + name + " has shape " + Arrays.toString(t.shape())
          + " but config.json implies " + Arrays.toString(expected) + ". Check that the weights and config.json"
          + " come from the same model.");
    }
    return t;
  }

  private static float[] transpose(float[] w, int rows, int cols) {
    float[] out = new float[w.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        out[c * rows + r] = w[r * cols + c];
      }
    }
    return out;
  }
}
