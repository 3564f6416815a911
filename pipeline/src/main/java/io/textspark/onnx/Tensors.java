package io.textspark.onnx;

import com.google.protobuf.ByteString;
import io.textspark.onnx.proto.Onnx.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * ONNX tensors to and from Java arrays. Values go in {@code raw_data}, which the format defines as
 * little-endian whatever the host, so files written here read the same everywhere.
 */
public final class Tensors {
  private Tensors() {}

  /** A float tensor named {@code name} of shape {@code dims}. */
  public static TensorProto floats(String name, float[] values, long... dims) {
    check(values.length, dims, name);
    ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return tensor(name, TensorProto.DataType.FLOAT, b.array(), dims);
  }

  /** An int8 tensor named {@code name} of shape {@code dims}. */
  public static TensorProto int8s(String name, byte[] values, long... dims) {
    check(values.length, dims, name);
    return tensor(name, TensorProto.DataType.INT8, values, dims);
  }

  /** An int64 tensor named {@code name} of shape {@code dims}. */
  public static TensorProto int64s(String name, long[] values, long... dims) {
    check(values.length, dims, name);
    ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return tensor(name, TensorProto.DataType.INT64, b.array(), dims);
  }

  /** The values of a float tensor, from {@code raw_data} or {@code float_data}. */
  public static float[] toFloats(TensorProto t) {
    if (t.getDataType() != TensorProto.DataType.FLOAT.getNumber()) {
      throw new IllegalArgumentException("tensor " + t.getName() + " has data_type " + t.getDataType()
          + ", not FLOAT");
    }
    if (!t.hasRawData()) {
      float[] out = new float[t.getFloatDataCount()];
      for (int i = 0; i < out.length; i++) {
        out[i] = t.getFloatData(i);
      }
      return out;
    }
    float[] out = new float[t.getRawData().size() / Float.BYTES];
    t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /** The number of elements of a tensor of shape {@code dims}. */
  public static long count(long... dims) {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  private static TensorProto tensor(String name, TensorProto.DataType type, byte[] raw, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
        .setRawData(ByteString.copyFrom(raw));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  private static void check(int length, long[] dims, String name) {
    if (count(dims) != length) {
      throw new IllegalArgumentException("tensor " + name + " has " + length + " values but its shape "
          + Arrays.toString(dims) + " holds " + count(dims));
    }
  }
}
