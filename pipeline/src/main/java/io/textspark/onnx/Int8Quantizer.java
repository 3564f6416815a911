package io.textspark.onnx;

import static io.textspark.onnx.OnnxGraph.attr;

import com.google.protobuf.ByteString;
import io.textspark.onnx.proto.Onnx.AttributeProto;
import io.textspark.onnx.proto.Onnx.GraphProto;
import io.textspark.onnx.proto.Onnx.NodeProto;
import io.textspark.onnx.proto.Onnx.TensorProto;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Dynamic int8 quantization as a graph rewrite. Every MatMul and Gemm whose weight is a float
 * initializer gets int8 weights with one symmetric scale per output column, and its activation is
 * quantized to uint8 when the graph runs, with one scale per token ({@link Activations#PER_TOKEN}:
 * ReduceMax/ReduceMin, Div, QuantizeLinear, then ONNX Runtime's MatMulIntegerToFloat, which scales
 * per column, and a Mul by the token's scale) or one per tensor
 * ({@link Activations#PER_TENSOR}: DynamicQuantizeLinear, MatMulInteger, Cast, Mul by the product of
 * the two scales, the pattern ONNX Runtime fuses into DynamicQuantizeMatMul). Every
 * Gather on a float 2-D initializer (an embedding table) gets int8 rows with one scale per row,
 * gathered with the rows and multiplied back. Nothing else changes: outputs keep their names.
 *
 * <p>Saturation: on x86 CPUs without VNNI, ONNX Runtime multiplies uint8 activations by int8
 * weights with an instruction that adds two products into int16, which overflows when both
 * products are near 255 * 127. Weights limited to 7 bits ({@link Options#reduceRange()}) keep every
 * pair below 2^15; with VNNI (and on ARM) the full 8 bits are exact.
 */
public final class Int8Quantizer {
  /** How activations are quantized when the graph runs. */
  public enum Activations {
    /**
     * One uint8 scale and zero point per token (row of the MatMul input), symmetric around 128:
     * a token with large values (BERT's [CLS] and [SEP] often have them) does not coarsen the others.
     */
    PER_TOKEN,
    /**
     * One uint8 scale and zero point for the whole input (ONNX Runtime's DynamicQuantizeLinear, fused
     * into DynamicQuantizeMatMul): the fewest operations, the largest error.
     */
    PER_TENSOR;

    /** Parses a configuration value ({@code per-token} or {@code per-tensor}); {@code key} names it in errors. */
    public static Activations parse(String value, String key) {
      for (Activations a : values()) {
        if (a.label().equals(value)) {
          return a;
        }
      }
      throw new IllegalArgumentException(key + " = \"" + value + "\"; allowed: per-token, per-tensor");
    }

    /** The configuration value. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * How to quantize.
   *
   * @param reduceRange quantize MatMul/Gemm weights to -64..63 instead of -127..127
   * @param activations per-token or per-tensor activation scales
   */
  public record Options(boolean reduceRange, Activations activations) {}

  private final GraphProto source;
  private final Options options;
  private final OnnxGraph out;
  private final Map<String, TensorProto> floats = new HashMap<>();
  private final Map<String, List<String>> quantizedActivations = new HashMap<>();
  private final Set<String> replaced = new LinkedHashSet<>();

  private Int8Quantizer(GraphProto source, Options options) {
    this.source = source;
    this.options = options;
    this.out = OnnxGraph.rewriting(source);
    for (TensorProto t : source.getInitializerList()) {
      if (t.getDataType() == TensorProto.DataType.FLOAT.getNumber() && t.getDimsCount() == 2) {
        floats.put(t.getName(), t);
      }
    }
  }

  /** The graph with its MatMul/Gemm weights and embedding tables in int8 (see the class comment). */
  public static GraphProto quantize(GraphProto graph, Options options) {
    return new Int8Quantizer(graph, options).rewrite();
  }

  private GraphProto rewrite() {
    for (NodeProto node : source.getNodeList()) {
      boolean standard = node.getDomain().isEmpty();
      if (standard && node.getOpType().equals("MatMul") && floats.containsKey(node.getInput(1))) {
        matMul(node.getInput(0), floats.get(node.getInput(1)), false, node.getOutput(0), node.getName());
      } else if (standard && node.getOpType().equals("Gemm") && isPlainGemm(node)) {
        String product = node.getInputCount() > 2 ? out.unique(node.getOutput(0) + "_product") : node.getOutput(0);
        matMul(node.getInput(0), floats.get(node.getInput(1)), transB(node), product, node.getName());
        if (node.getInputCount() > 2) {
          out.nodeNamed("", "Add", node.getName() + "_bias", List.of(product, node.getInput(2)),
              List.of(node.getOutput(0)));
        }
      } else if (standard && node.getOpType().equals("Gather") && floats.containsKey(node.getInput(0))
          && intAttribute(node, "axis", 0) == 0) {
        gather(floats.get(node.getInput(0)), node.getInput(1), node.getOutput(0), node.getName());
      } else {
        out.add(node);
      }
    }
    for (String name : replaced) {
      if (!stillUsed(name)) {
        out.removeInitializer(name);
      }
    }
    return out.graph();
  }

  /** x W (W [K, N], or W^T when {@code transposed}, W then [N, K]) with int8 W, into {@code output}. */
  private void matMul(String x, TensorProto weight, boolean transposed, String output, String name) {
    int rows = (int) weight.getDims(0);
    int cols = (int) weight.getDims(1);
    float[] w = Tensors.toFloats(weight);
    int k = transposed ? cols : rows;
    int n = transposed ? rows : cols;
    int qmax = options.reduceRange() ? 63 : 127;
    float[] scales = new float[n];
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < n; j++) {
        scales[j] = Math.max(scales[j], Math.abs(w[transposed ? j * cols + i : i * cols + j]));
      }
    }
    for (int j = 0; j < n; j++) {
      scales[j] = scales[j] == 0 ? 1f : scales[j] / qmax;
    }
    byte[] q = new byte[k * n];
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < n; j++) {
        q[i * n + j] = clamp(w[transposed ? j * cols + i : i * cols + j] / scales[j], qmax);
      }
    }
    String base = weight.getName();
    String qWeight = out.int8s(out.unique(base + "_int8"), q, k, n);
    String wScale = out.floats(out.unique(base + "_scale"), scales, n);
    String wZero = out.int8s(out.unique(base + "_zero_point"), new byte[n], n);
    replaced.add(weight.getName());
    List<String> a = quantizedActivations.computeIfAbsent(x, v -> options.activations() == Activations.PER_TOKEN
        ? perToken(v) : out.nodeIn("", "DynamicQuantizeLinear", 3, List.of(v)));
    String dequantized = name.isEmpty() ? out.unique("dequantize") : name + "_dequantize";
    if (options.activations() == Activations.PER_TOKEN) {
      // The integer product scaled per column, in ONNX Runtime's one kernel (the activation's scale
      // there must be one number, so 1), then per row by the token's scale.
      String one = out.has("unit_scale") ? "unit_scale" : out.scalar("unit_scale", 1f);
      String perColumn = out.nodeIn(OnnxGraph.MICROSOFT, "MatMulIntegerToFloat", 1,
          List.of(a.get(0), qWeight, one, wScale, a.get(2), wZero)).get(0);
      out.nodeNamed("", "Mul", dequantized, List.of(perColumn, a.get(1)), List.of(output));
      return;
    }
    String integer = out.node("MatMulInteger", List.of(a.get(0), qWeight, a.get(2), wZero));
    String asFloat = out.node("Cast", List.of(integer), attr("to", (long) TensorProto.DataType.FLOAT.getNumber()));
    String scale = out.node("Mul", List.of(a.get(1), wScale));
    out.nodeNamed("", "Mul", dequantized, List.of(asFloat, scale), List.of(output));
  }

  /**
   * Per-token quantization of {@code x} [..., K]: each row r (token) as uint8 round(x_r / s_r) + 128
   * with s_r = max |x_r| / 127 (the division, then one QuantizeLinear with scale 1 and zero point
   * 128; shapes stay those of x, so ONNX Runtime's fusions around the MatMuls still apply). Returns
   * the quantized x, the scales [..., 1] and the zero point.
   */
  private List<String> perToken(String x) {
    String max = out.node("ReduceMax", List.of(x), axes(-1), attr("keepdims", 1L));
    String min = out.node("ReduceMin", List.of(x), axes(-1), attr("keepdims", 1L));
    String range = out.node("Max", List.of(max, out.node("Neg", List.of(min)), out.scalar(out.unique("eps"), 1e-8f)));
    String scale = out.node("Mul", List.of(range, out.scalar(out.unique("inv127"), 1f / 127)));
    String zero = out.initializer(TensorProto.newBuilder().setName(out.unique("zero_point_128"))
        .setDataType(TensorProto.DataType.UINT8.getNumber()).setRawData(ByteString.copyFrom(new byte[] {(byte) 128}))
        .build());
    String q = out.node("QuantizeLinear", List.of(out.node("Div", List.of(x, scale)), out.scalar(out.unique("one"), 1f),
        zero));
    return List.of(q, scale, zero);
  }

  private static AttributeProto axes(long axis) {
    return AttributeProto.newBuilder().setName("axes").setType(AttributeProto.AttributeType.INTS).addInts(axis).build();
  }

  /** Gather from an int8 table with one scale per row, into {@code output}. */
  private void gather(TensorProto table, String indices, String output, String name) {
    int rows = (int) table.getDims(0);
    int cols = (int) table.getDims(1);
    float[] w = Tensors.toFloats(table);
    float[] scales = new float[rows];
    byte[] q = new byte[rows * cols];
    for (int r = 0; r < rows; r++) {
      float max = 0;
      for (int c = 0; c < cols; c++) {
        max = Math.max(max, Math.abs(w[r * cols + c]));
      }
      scales[r] = max == 0 ? 1f : max / 127;
      for (int c = 0; c < cols; c++) {
        q[r * cols + c] = clamp(w[r * cols + c] / scales[r], 127);
      }
    }
    String base = table.getName();
    String qTable = out.int8s(out.unique(base + "_int8"), q, rows, cols);
    String rowScales = out.floats(out.unique(base + "_row_scale"), scales, rows, 1);
    replaced.add(table.getName());
    String gathered = out.node("Gather", List.of(qTable, indices));
    String asFloat = out.node("Cast", List.of(gathered), attr("to", (long) TensorProto.DataType.FLOAT.getNumber()));
    String scale = out.node("Gather", List.of(rowScales, indices));
    out.nodeNamed("", "Mul", name.isEmpty() ? out.unique("dequantize") : name + "_dequantize",
        List.of(asFloat, scale), List.of(output));
  }

  /** A Gemm computing x W^T + C or x W + C (alpha = beta = 1, A not transposed) with a 2-D float W. */
  private boolean isPlainGemm(NodeProto node) {
    return floats.containsKey(node.getInput(1)) && intAttribute(node, "transA", 0) == 0
        && floatAttribute(node, "alpha", 1f) == 1f && floatAttribute(node, "beta", 1f) == 1f;
  }

  private static boolean transB(NodeProto node) {
    return intAttribute(node, "transB", 0) == 1;
  }

  private boolean stillUsed(String initializer) {
    return out.graph().getNodeList().stream().anyMatch(n -> n.getInputList().contains(initializer))
        || out.graph().getOutputList().stream().anyMatch(v -> v.getName().equals(initializer));
  }

  private static byte clamp(float v, int qmax) {
    return (byte) Math.max(-qmax, Math.min(qmax, Math.round(v)));
  }

  private static long intAttribute(NodeProto node, String name, long fallback) {
    for (AttributeProto a : node.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getI();
      }
    }
    return fallback;
  }

  private static float floatAttribute(NodeProto node, String name, float fallback) {
    for (AttributeProto a : node.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getF();
      }
    }
    return fallback;
  }
}
