package io.textspark.onnx;

import com.google.protobuf.ByteString;
import io.textspark.onnx.proto.Onnx.AttributeProto;
import io.textspark.onnx.proto.Onnx.GraphProto;
import io.textspark.onnx.proto.Onnx.ModelProto;
import io.textspark.onnx.proto.Onnx.NodeProto;
import io.textspark.onnx.proto.Onnx.OperatorSetIdProto;
import io.textspark.onnx.proto.Onnx.StringStringEntryProto;
import io.textspark.onnx.proto.Onnx.TensorProto;
import io.textspark.onnx.proto.Onnx.TensorShapeProto;
import io.textspark.onnx.proto.Onnx.TypeProto;
import io.textspark.onnx.proto.Onnx.ValueInfoProto;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds an ONNX graph one node at a time: typed graph inputs and outputs with symbolic axes,
 * weights as initializers stored as little-endian {@code raw_data}, and nodes of the standard
 * domain (opset {@value #OPSET}) or of ONNX Runtime's {@value #MICROSOFT} domain. Every value has a
 * name; {@link #node} invents unique names for outputs, so callers only name what a reader sees
 * (inputs, outputs, weights).
 */
public final class OnnxGraph {
  /** The standard operator set the graphs use: LayerNormalization is a standard op from 17 on. */
  public static final int OPSET = 17;
  /** The IR version matching {@link #OPSET} (ONNX 1.12), the lowest that reads opset 17. */
  public static final int IR_VERSION = 8;
  /** ONNX Runtime's contrib operator domain, for ops such as {@code DynamicQuantizeMatMul}. */
  public static final String MICROSOFT = "com.microsoft";

  private final GraphProto.Builder graph;
  private final Set<String> names = new HashSet<>();
  private final Map<String, Integer> counters = new HashMap<>();

  /** An empty graph called {@code name}. */
  public OnnxGraph(String name) {
    graph = GraphProto.newBuilder().setName(name);
  }

  /**
   * Continues building on an existing graph (for rewrites such as {@link Int8Quantizer}); the
   * names already used in it are reserved.
   */
  public OnnxGraph(GraphProto existing) {
    graph = existing.toBuilder();
    for (NodeProto n : existing.getNodeList()) {
      names.addAll(n.getOutputList());
      names.add(n.getName());
    }
    existing.getInitializerList().forEach(t -> names.add(t.getName()));
    existing.getInputList().forEach(v -> names.add(v.getName()));
  }

  /**
   * A graph to rewrite {@code existing} into: its name, inputs, outputs and initializers, none of
   * its nodes (add the ones to keep with {@link #add}); every name of {@code existing} stays reserved.
   */
  public static OnnxGraph rewriting(GraphProto existing) {
    OnnxGraph g = new OnnxGraph(existing);
    g.graph.clearNode();
    return g;
  }

  /** Appends an existing node unchanged. */
  public void add(NodeProto node) {
    names.addAll(node.getOutputList());
    names.add(node.getName());
    graph.addNode(node);
  }

  /** Removes the initializer {@code name} (one a rewrite made unused). */
  public void removeInitializer(String name) {
    for (int i = 0; i < graph.getInitializerCount(); i++) {
      if (graph.getInitializer(i).getName().equals(name)) {
        graph.removeInitializer(i);
        return;
      }
    }
    throw new IllegalArgumentException("the ONNX graph has no initializer " + name);
  }

  /**
   * Declares a graph input; each dimension is a {@link Number} (fixed) or a {@link String}
   * (symbolic, such as {@code batch}). Returns its name.
   */
  public String input(String name, TensorProto.DataType type, Object... dims) {
    claim(name);
    graph.addInput(valueInfo(name, type, dims));
    return name;
  }

  /** Declares {@code name}, produced by some node, as a graph output of the given type and shape. */
  public void output(String name, TensorProto.DataType type, Object... dims) {
    graph.addOutput(valueInfo(name, type, dims));
  }

  /** Adds a float initializer of shape {@code dims}; returns its name. */
  public String floats(String name, float[] values, long... dims) {
    return initializer(Tensors.floats(name, values, dims));
  }

  /** Adds an int8 initializer of shape {@code dims}; returns its name. */
  public String int8s(String name, byte[] values, long... dims) {
    return initializer(Tensors.int8s(name, values, dims));
  }

  /** Adds an int64 initializer of shape {@code dims}; returns its name. */
  public String int64s(String name, long[] values, long... dims) {
    return initializer(Tensors.int64s(name, values, dims));
  }

  /** Adds a float scalar (shape {@code []}) initializer; returns its name. */
  public String scalar(String name, float value) {
    return floats(name, new float[] {value});
  }

  /** Adds {@code tensor} (named) as an initializer; returns its name. */
  public String initializer(TensorProto tensor) {
    claim(tensor.getName());
    graph.addInitializer(tensor);
    return tensor.getName();
  }

  /** Adds a standard-domain node with one output and returns the output's (new) name. */
  public String node(String opType, List<String> inputs, AttributeProto... attributes) {
    return nodeIn("", opType, 1, inputs, attributes).get(0);
  }

  /**
   * Adds a node of {@code domain} ("" for the standard one) with {@code outputs} outputs and
   * returns their new names, in order.
   */
  public List<String> nodeIn(
      String domain, String opType, int outputs, List<String> inputs, AttributeProto... attributes) {
    String base = opType.toLowerCase(Locale.ROOT);
    String nodeName = unique(base);
    String[] out = new String[outputs];
    for (int i = 0; i < outputs; i++) {
      out[i] = unique(base + "_out");
    }
    return nodeNamed(domain, opType, nodeName, inputs, Arrays.asList(out), attributes);
  }

  /**
   * Adds a node whose outputs have the given names (a rewrite keeps the names later nodes read);
   * returns them.
   */
  public List<String> nodeNamed(String domain, String opType, String nodeName, List<String> inputs,
      List<String> outputs, AttributeProto... attributes) {
    NodeProto.Builder n =
        NodeProto.newBuilder().setOpType(opType).setName(nodeName).addAllInput(inputs).addAllOutput(outputs);
    if (!domain.isEmpty()) {
      n.setDomain(domain);
    }
    for (AttributeProto a : attributes) {
      n.addAttribute(a);
    }
    names.add(nodeName);
    names.addAll(outputs);
    graph.addNode(n);
    return outputs;
  }

  /** Whether a value, initializer or node called {@code name} exists already. */
  public boolean has(String name) {
    return names.contains(name);
  }

  /** A name not used yet in this graph, {@code base} followed by a counter (reserved once used). */
  public String unique(String base) {
    int i = counters.merge(base, 1, Integer::sum);
    String name = base + "_" + i;
    while (names.contains(name)) {
      i = counters.merge(base, 1, Integer::sum);
      name = base + "_" + i;
    }
    return name;
  }

  /** The graph built so far. */
  public GraphProto graph() {
    return graph.build();
  }

  /**
   * The complete model: this graph with the standard opset {@value #OPSET} (and the {@value
   * #MICROSOFT} domain when a node uses it), IR version {@value #IR_VERSION}, producer and string
   * metadata.
   */
  public ModelProto model(String producerVersion, Map<String, String> metadata) {
    GraphProto g = graph.build();
    ModelProto.Builder m = ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .setProducerName("textspark")
        .setProducerVersion(producerVersion)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setGraph(g);
    if (g.getNodeList().stream().anyMatch(n -> MICROSOFT.equals(n.getDomain()))) {
      m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MICROSOFT).setVersion(1));
    }
    metadata.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
    return m.build();
  }

  /** An integer attribute. */
  public static AttributeProto attr(String name, long value) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
  }

  /** A float attribute. */
  public static AttributeProto attr(String name, float value) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
  }

  /** A list-of-integers attribute. */
  public static AttributeProto attr(String name, long... values) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long v : values) {
      a.addInts(v);
    }
    return a.build();
  }

  /** A string attribute. */
  public static AttributeProto attr(String name, String value) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
        .setS(ByteString.copyFromUtf8(value)).build();
  }

  private void claim(String name) {
    if (!names.add(name)) {
      throw new IllegalArgumentException("the ONNX graph already has a value named " + name);
    }
  }

  private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      if (d instanceof Number n) {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue()));
      } else if (d instanceof String s) {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(s));
      } else {
        throw new IllegalArgumentException("a dimension is a Number or a String, not " + d);
      }
    }
    TypeProto.Tensor tensor = TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape).build();
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(tensor)).build();
  }
}
