package io.textspark.model;

import static io.textspark.onnx.OnnxGraph.attr;

import io.textspark.TextSparkException;
import io.textspark.onnx.OnnxGraph;
import io.textspark.onnx.proto.Onnx.GraphProto;
import io.textspark.onnx.proto.Onnx.TensorProto;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Builds the ONNX graph of a post-LN encoder classifier from its parts, the way {@link EncoderLayer}
 * and {@link EncoderOps} build its PyTorch forward pass: a family writes its embeddings and names its
 * tensors, this class does the rest. Every part is in the op pattern ONNX Runtime's graph optimizer
 * recognises: LayerNormalization right after the residual Add (fused into SkipLayerNormalization),
 * the erf GELU right after its bias Add (fused into BiasGelu), position ids from a CumSum shaped like
 * {@code input_ids} so that shape inference keeps the symbolic [batch, sequence] axes.
 *
 * <p>The classifiers of every family read only the first token, so {@link #firstToken} runs the last
 * layer's queries, feed-forward block and layer norms for that token alone (keys and values still
 * for every token): the same logits for about a sixth less arithmetic in a 6-layer model.
 *
 * <p>Weights are initializers: embedding tables and layer norm parameters under their Hugging Face
 * names, dense layers of 3-D activations as MatMul weights transposed to [in, out] under the Hugging
 * Face name plus {@code .T}, the head as Gemm weights in their Hugging Face layout.
 */
public final class EncoderOnnx {
  /** Token ids, int64 [batch, sequence]. */
  public static final String INPUT_IDS = "input_ids";
  /** 1 for tokens, 0 for padding, int64 [batch, sequence]. */
  public static final String ATTENTION_MASK = "attention_mask";
  /** Segment ids, int64 [batch, sequence], for the families that have them (textspark feeds zeros). */
  public static final String TOKEN_TYPE_IDS = "token_type_ids";
  /** The graph output, float [batch, num_labels]. */
  public static final String OUTPUT = "logits";

  private static final String BATCH = "batch";
  private static final String SEQUENCE = "sequence";

  /**
   * Where the graph's tensors come from.
   *
   * @param shapes every parameter of the classifier by its Hugging Face name, with the shape the
   *     config implies
   * @param lookup the checkpoint tensor of a parameter name (trying the family's aliases), or null
   * @param isHead whether a parameter belongs to the trained head, for the message when it is missing
   */
  public record Source(
      Map<String, long[]> shapes, Function<String, Safetensors.Tensor> lookup, Predicate<String> isHead) {}

  /**
   * The encoder's post-LN layers.
   *
   * @param prefix the name of layer {@code l} is {@code prefix + l + "."}
   * @param count how many layers
   * @param names the module names of a layer's parts, as {@link EncoderLayer} takes them
   * @param hidden the hidden size
   * @param settings heads, layer norm epsilon and activation (dropout plays no part in inference)
   */
  public record Layers(String prefix, int count, EncoderLayer.Names names, int hidden, EncoderLayer.Settings settings) {
    /** Checks the sizes. */
    public Layers {
      if (count < 1 || hidden % settings.heads() != 0) {
        throw new IllegalArgumentException("need at least one layer and heads dividing hidden: " + count + " layers, "
            + hidden + " hidden, " + settings.heads() + " heads");
      }
    }
  }

  private final OnnxGraph g;
  private final Source source;

  /** An empty graph called {@code name} whose tensors come from {@code source}. */
  public EncoderOnnx(String name, Source source) {
    this.g = new OnnxGraph(name);
    this.source = source;
  }

  /** The graph under construction, for a family's own ops. */
  public OnnxGraph builder() {
    return g;
  }

  /** Declares the int64 [batch, sequence] graph input {@code name}; returns it. */
  public String input(String name) {
    return g.input(name, TensorProto.DataType.INT64, BATCH, SEQUENCE);
  }

  /**
   * Position ids 0..sequence-1 for every row of {@code ids}: an exclusive running sum of ones shaped
   * like the ids (a Slice or Range of the table would lose the symbolic axis, and with it ONNX
   * Runtime's fusions).
   */
  public String positionIds(String ids) {
    String ones = g.node("Add", List.of(g.node("Mul", List.of(ids, longScalar("long_zero", 0))),
        longScalar("long_one", 1)));
    return g.node("CumSum", List.of(ones, longScalar("long_one", 1)), attr("exclusive", 1L));
  }

  /** The rows of the embedding table {@code table} (a parameter name) for {@code ids}. */
  public String embed(String table, String ids) {
    return g.node("Gather", List.of(weight(table), ids));
  }

  /**
   * Row {@code row} of the table {@code table} as a 1-D initializer of its own, which an Add
   * broadcasts over every token (the token type of families that always use type 0).
   */
  public String row(String table, int row) {
    String name = table + ".row" + row;
    if (!g.has(name)) {
      Safetensors.Tensor t = tensor(table);
      int width = (int) t.shape()[1];
      g.floats(name, Arrays.copyOfRange(t.toFloatArray(), row * width, (row + 1) * width), width);
    }
    return name;
  }

  /** a + b. */
  public String add(String a, String b) {
    return g.node("Add", List.of(a, b));
  }

  /** Layer norm over the last axis with the gain and offset of module {@code prefix}. */
  public String layerNorm(String x, String prefix, double eps) {
    return g.node("LayerNormalization", List.of(x, weight(prefix + ".weight"), weight(prefix + ".bias")),
        attr("axis", -1L), attr("epsilon", (float) eps));
  }

  /**
   * x W^T + b of module {@code prefix} as MatMul then Add (no Add when the module has no bias), the
   * weight stored transposed ([in, out]).
   */
  public String dense(String x, String prefix) {
    String name = prefix + ".weight";
    String wt = name + ".T";
    if (!g.has(wt)) {
      Safetensors.Tensor w = tensor(name);
      long[] shape = w.shape();
      g.floats(wt, transpose(w.toFloatArray(), (int) shape[0], (int) shape[1]), shape[1], shape[0]);
    }
    String product = g.node("MatMul", List.of(x, wt));
    return source.shapes().containsKey(prefix + ".bias") ? add(product, weight(prefix + ".bias")) : product;
  }

  /**
   * The additive attention mask [batch, 1, 1, sequence] of {@code mask}: 0 for tokens, the float
   * minimum for padding, as {@link EncoderOps#additiveMask}.
   */
  public String additiveMask(String mask) {
    String expanded = g.node("Unsqueeze", List.of(g.node("Unsqueeze", List.of(mask, longs("one", 1))),
        longs("two", 2)));
    String asFloat = g.node("Cast", List.of(expanded), attr("to", (long) TensorProto.DataType.FLOAT.getNumber()));
    return g.node("Mul", List.of(g.node("Sub", List.of(floatScalar("float_one", 1f), asFloat)),
        floatScalar("mask_fill", EncoderOps.MASK_FILL)));
  }

  /**
   * How a layer's self-attention is computed: the context [batch, query tokens, hidden] of {@code
   * queries} (x itself, or some of its tokens) attending to all of x, for the layer at {@code prefix}.
   */
  @FunctionalInterface
  public interface Attention {
    /** The attention context of {@code queries} over {@code x} in the layer whose names start with {@code prefix}. */
    String context(String x, String queries, String prefix);
  }

  /**
   * Runs {@code hidden} [batch, sequence, hidden] through {@code layers} with BERT's multi-head
   * attention and returns the first token's output, [batch, hidden]; the last layer computes only
   * what that token needs.
   */
  public String firstToken(String hidden, String additiveMask, Layers layers) {
    return firstToken(hidden, layers, (x, queries, p) -> selfAttention(x, queries, additiveMask, layers, p), true);
  }

  /**
   * Runs {@code hidden} through {@code layers} whose self-attention is {@code attention} and returns
   * the first token's output, [batch, hidden]; with {@code lastForFirstToken} the last layer's
   * attention gets the first token alone as its queries, and the rest of it runs for that token only.
   */
  public String firstToken(String hidden, Layers layers, Attention attention, boolean lastForFirstToken) {
    int last = layers.count() - 1;
    for (int l = 0; l < last; l++) {
      hidden = layer(hidden, hidden, attention, layers, layers.prefix() + l + ".");
    }
    String queries = lastForFirstToken
        ? g.node("Gather", List.of(hidden, longs("first_token", 0)), attr("axis", 1L)) : hidden;
    hidden = layer(hidden, queries, attention, layers, layers.prefix() + last + ".");
    return g.node("Gather", List.of(hidden, longScalar("cls_index", 0)), attr("axis", 1L));
  }

  /** [batch, tokens, hidden] to [batch, heads, tokens, head size] ({@code keyT}: [batch, heads, head size, tokens]). */
  public String splitHeads(String x, int heads, int headDim, boolean keyT) {
    String split = longs("split_heads_" + heads + "x" + headDim, 0, 0, heads, headDim);
    String reshaped = g.node("Reshape", List.of(x, split));
    return keyT ? transpose(reshaped, 0, 2, 3, 1) : transpose(reshaped, 0, 2, 1, 3);
  }

  /** [batch, heads, tokens, head size] to [batch, tokens, hidden]. */
  public String mergeHeads(String x, int hidden) {
    return g.node("Reshape", List.of(transpose(x, 0, 2, 1, 3), longs("merge_heads_" + hidden, 0, 0, hidden)));
  }

  /**
   * The classification head on the first token's vector {@code first} [batch, hidden]: the dense
   * module {@code densePrefix}, {@code activation}, then the output module {@code outPrefix}, whose
   * result is the graph output {@value #OUTPUT} [batch, {@code numLabels}].
   */
  public String head(String first, String densePrefix, String activation, String outPrefix, int numLabels) {
    String x = activation(gemm(first, densePrefix), activation);
    String logits = g.nodeNamed("", "Gemm", outPrefix, List.of(x, weight(outPrefix + ".weight"),
        weight(outPrefix + ".bias")), List.of(OUTPUT), attr("transB", 1L)).get(0);
    g.output(logits, TensorProto.DataType.FLOAT, BATCH, (long) numLabels);
    return logits;
  }

  /** The graph built. */
  public GraphProto graph() {
    return g.graph();
  }

  /**
   * One post-LN layer, in the op pattern of Hugging Face BERT exports, for the tokens of {@code
   * queries} ([batch, tokens, hidden]: x itself, or some of its tokens) attending to all of x.
   */
  private String layer(String x, String queries, Attention attention, Layers layers, String p) {
    List<String> n = layers.names().modules();
    double eps = layers.settings().eps();
    String attended = dense(attention.context(x, queries, p), p + n.get(3));
    String afterAttention = layerNorm(add(attended, queries), p + n.get(4), eps);
    String intermediate = activation(dense(afterAttention, p + n.get(5)), layers.settings().activation());
    String output = dense(intermediate, p + n.get(6));
    return layerNorm(add(output, afterAttention), p + n.get(7), eps);
  }

  /** BERT's multi-head attention of {@code queries} over x: the context, [batch, query tokens, hidden]. */
  private String selfAttention(String x, String queries, String additiveMask, Layers layers, String p) {
    List<String> n = layers.names().modules();
    int heads = layers.settings().heads();
    int headDim = layers.hidden() / heads;
    String query = splitHeads(dense(queries, p + n.get(0)), heads, headDim, false);
    String keyT = splitHeads(dense(x, p + n.get(1)), heads, headDim, true);
    String value = splitHeads(dense(x, p + n.get(2)), heads, headDim, false);
    String scores = g.node("Div", List.of(g.node("MatMul", List.of(query, keyT)),
        floatScalar("sqrt_head_dim_" + headDim, (float) Math.sqrt(headDim))));
    String probs = g.node("Softmax", List.of(add(scores, additiveMask)), attr("axis", 3L));
    return mergeHeads(g.node("MatMul", List.of(probs, value)), layers.hidden());
  }

  /** x W^T + b for a 2-D x, as one Gemm with the weight in its Hugging Face layout. */
  private String gemm(String x, String prefix) {
    return g.node("Gemm", List.of(x, weight(prefix + ".weight"), weight(prefix + ".bias")), attr("transB", 1L));
  }

  /** A Hugging Face activation by its config name, as {@link EncoderOps#activation}. */
  public String activation(String x, String name) {
    return switch (name) {
      case "gelu" -> gelu(x);
      case "relu" -> g.node("Relu", List.of(x));
      case "tanh" -> g.node("Tanh", List.of(x));
      default -> throw new IllegalArgumentException("unsupported activation " + name);
    };
  }

  /** GELU in its erf form, x * 0.5 * (1 + erf(x / sqrt 2)), in the order ONNX Runtime fuses. */
  private String gelu(String x) {
    String erf = g.node("Erf", List.of(g.node("Div", List.of(x, floatScalar("sqrt_two", (float) Math.sqrt(2))))));
    String onePlus = g.node("Add", List.of(erf, floatScalar("float_one", 1f)));
    return g.node("Mul", List.of(g.node("Mul", List.of(x, onePlus)), floatScalar("half", 0.5f)));
  }

  /** x with its axes permuted by {@code perm}. */
  public String transpose(String x, long... perm) {
    return g.node("Transpose", List.of(x), attr("perm", perm));
  }

  /** The initializer of the parameter {@code name}, added on first use. */
  public String weight(String name) {
    if (!g.has(name)) {
      Safetensors.Tensor t = tensor(name);
      g.floats(name, t.toFloatArray(), t.shape());
    }
    return name;
  }

  /** A shared int64 constant (1-D) called {@code name}, added on first use. */
  public String longs(String name, long... values) {
    return g.has(name) ? name : g.int64s(name, values, values.length);
  }

  /** A shared int64 scalar called {@code name}, added on first use. */
  public String longScalar(String name, long value) {
    return g.has(name) ? name : g.int64s(name, new long[] {value});
  }

  /** A shared float scalar called {@code name}, added on first use. */
  public String floatScalar(String name, float value) {
    return g.has(name) ? name : g.scalar(name, value);
  }

  /** The checkpoint tensor of {@code name}, checked against the shape the config implies. */
  private Safetensors.Tensor tensor(String name) {
    long[] expected = source.shapes().get(name);
    if (expected == null) {
      throw new IllegalArgumentException("the classifier has no parameter " + name);
    }
    Safetensors.Tensor t = source.lookup().apply(name);
    if (t == null) {
      String why = source.isHead().test(name)
          ? " The model has no trained head: export a checkpoint of `textspark train`, which saves the head"
              + " with the encoder."
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
