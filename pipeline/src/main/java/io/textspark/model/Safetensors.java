package io.textspark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Reads and writes the Hugging Face safetensors format through plain streams, so that callers can
 * use any Hadoop file system: an 8-byte little-endian header length, a JSON header mapping each
 * tensor name to its dtype, shape and byte range, then the raw little-endian tensor data.
 */
public final class Safetensors {
  /** The reference implementation refuses larger headers; so do we, to catch garbage early. */
  private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private static final String METADATA_KEY = "__metadata__";

  private Safetensors() {}

  /**
   * One tensor as stored in a safetensors file: its dtype name ({@code F32}, {@code F16}, {@code
   * BF16}, {@code I64}, ...), its shape and its raw little-endian bytes.
   */
  public record Tensor(String dtype, long[] shape, byte[] data) {
    /** Checks that the data length matches dtype and shape, and copies the shape defensively. */
    public Tensor {
      shape = shape.clone();
      long expected = elementCount(shape) * bytesPerElement(dtype);
      if (data.length != expected) {
        throw new TextSparkException(
            "a "
                + dtype
                + " tensor of shape "
                + Arrays.toString(shape)
                + " needs "
                + expected
                + " bytes but has "
                + data.length
                + "; the file is corrupt, write it again.");
      }
    }

    /** Creates an F32 tensor from Java floats. */
    public static Tensor ofFloats(long[] shape, float[] values) {
      ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      buffer.asFloatBuffer().put(values);
      return new Tensor("F32", shape, buffer.array());
    }

    /** Copies an NDArray (F32, F16, I64, I32, I8, U8 or BOOL) into a tensor. */
    public static Tensor of(NDArray array) {
      String dtype = dtypeName(array.getDataType());
      ByteBuffer buffer = array.toByteBuffer();
      byte[] bytes = new byte[buffer.remaining()];
      // DJL hands out native byte order; the format is little-endian, so swap on big-endian hosts.
      if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || bytesPerElement(dtype) == 1) {
        buffer.get(bytes);
      } else {
        ByteBuffer out = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int width = bytesPerElement(dtype);
        ByteBuffer in = buffer.order(ByteOrder.nativeOrder());
        while (in.hasRemaining()) {
          switch (width) {
            case 2 -> out.putShort(in.getShort());
            case 4 -> out.putInt(in.getInt());
            default -> out.putLong(in.getLong());
          }
        }
      }
      return new Tensor(dtype, array.getShape().getShape(), bytes);
    }

    /** The number of elements, the product of the shape. */
    public long size() {
      return elementCount(shape);
    }

    /** The values as floats, converting F16 and BF16 exactly; fails for integer dtypes. */
    public float[] toFloatArray() {
      ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
      float[] out = new float[(int) size()];
      switch (dtype) {
        case "F32" -> in.asFloatBuffer().get(out);
        case "F16" -> {
          for (int i = 0; i < out.length; i++) {
            out[i] = halfToFloat(in.getShort());
          }
        }
        case "BF16" -> {
          for (int i = 0; i < out.length; i++) {
            out[i] = Float.intBitsToFloat((in.getShort() & 0xffff) << 16);
          }
        }
        case "F64" -> {
          for (int i = 0; i < out.length; i++) {
            out[i] = (float) in.getDouble();
          }
        }
        default ->
            throw new TextSparkException(
                "tensor of dtype "
                    + dtype
                    + " cannot be read as floats; expected F32, F16, BF16 or F64.");
      }
      return out;
    }

    /** The values of an I64 or I32 tensor as longs. */
    public long[] toLongArray() {
      ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
      long[] out = new long[(int) size()];
      switch (dtype) {
        case "I64" -> in.asLongBuffer().get(out);
        case "I32" -> {
          for (int i = 0; i < out.length; i++) {
            out[i] = in.getInt();
          }
        }
        default ->
            throw new TextSparkException(
                "tensor of dtype " + dtype + " cannot be read as integers; expected I64 or I32.");
      }
      return out;
    }

    /**
     * Creates an NDArray in {@code manager}: floating dtypes become FLOAT32 (the model computes in
     * fp32 on CPU), I64 and I32 keep their type.
     */
    public NDArray toNDArray(NDManager manager) {
      Shape ndShape = new Shape(shape);
      if ("I64".equals(dtype) || "I32".equals(dtype)) {
        return manager.create(toLongArray(), ndShape);
      }
      if ("F32".equals(dtype)) {
        // A direct little-endian buffer is taken by the engine without another conversion pass.
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).order(ByteOrder.nativeOrder());
        direct
            .asFloatBuffer()
            .put(ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        return manager.create(direct, ndShape, DataType.FLOAT32);
      }
      return manager.create(toFloatArray(), ndShape);
    }

    /** Compares dtype, shape and bytes (records would otherwise compare array identity). */
    @Override
    public boolean equals(Object other) {
      return other instanceof Tensor t
          && dtype.equals(t.dtype)
          && Arrays.equals(shape, t.shape)
          && Arrays.equals(data, t.data);
    }

    /** Hashes dtype, shape and bytes, consistent with {@link #equals}. */
    @Override
    public int hashCode() {
      return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
    }

    /** Describes the tensor without its data. */
    @Override
    public String toString() {
      return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }

    /** The shape, copied so that callers cannot change the tensor. */
    @Override
    public long[] shape() {
      return shape.clone();
    }
  }

  /** The tensors of a safetensors file in file order, and its {@code __metadata__} strings. */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

  /**
   * Reads every tensor of a safetensors stream, in file order; {@code source} names the stream in
   * error messages. The stream is read to the end of the last tensor and not closed.
   */
  public static Map<String, Tensor> read(InputStream in, String source) {
    return readContents(in, source).tensors();
  }

  /** Reads tensors and metadata of a safetensors stream; {@code source} names it in errors. */
  public static Contents readContents(InputStream in, String source) {
    try {
      byte[] lengthBytes = in.readNBytes(8);
      if (lengthBytes.length < 8) {
        throw corrupt(
            source, "it has " + lengthBytes.length + " bytes, fewer than the 8-byte header length");
      }
      long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES) {
        throw corrupt(
            source,
            "its header length is "
                + headerLength
                + ", outside 1.."
                + MAX_HEADER_BYTES
                + " (not a safetensors file?)");
      }
      byte[] headerBytes = in.readNBytes((int) headerLength);
      if (headerBytes.length < headerLength) {
        throw corrupt(
            source,
            "it is truncated inside the JSON header ("
                + headerBytes.length
                + " of "
                + headerLength
                + " bytes)");
      }
      Map<String, String> metadata = new LinkedHashMap<>();
      List<Entry> entries =
          parseHeader(new String(headerBytes, StandardCharsets.UTF_8), source, metadata);
      entries.sort(Comparator.comparingLong(Entry::begin));
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      long position = 0;
      for (Entry e : entries) {
        if (e.begin < position) {
          throw corrupt(
              source,
              "tensor " + e.name + " overlaps the previous tensor at data offset " + e.begin);
        }
        in.skipNBytes(e.begin - position);
        byte[] data = in.readNBytes((int) (e.end - e.begin));
        if (data.length < e.end - e.begin) {
          throw corrupt(
              source,
              "it is truncated: tensor "
                  + e.name
                  + " needs data bytes "
                  + e.begin
                  + ".."
                  + e.end
                  + " but the stream ends at "
                  + (e.begin + data.length));
        }
        position = e.end;
        tensors.put(e.name, new Tensor(e.dtype, e.shape, data));
      }
      return new Contents(tensors, metadata);
    } catch (EOFException e) {
      throw corrupt(source, "it is truncated before the data it declares", e);
    } catch (IOException e) {
      throw new TextSparkException(
          "cannot read safetensors file " + source + ": " + e.getMessage(), e);
    }
  }

  /** Reads a safetensors stream, naming it "stream" in error messages. */
  public static Map<String, Tensor> read(InputStream in) {
    return read(in, "stream");
  }

  /**
   * Writes tensors and string metadata in safetensors format. Like the Hugging Face writer, data is
   * laid out by dtype width (widest first) and then by name, and the header is padded with spaces
   * to a multiple of 8 bytes so that the data is aligned. The stream is flushed, not closed.
   */
  public static void write(
      OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata) {
    List<Pending> pending = new ArrayList<>();
    tensors.forEach((name, t) -> pending.add(new Pending(name, t.dtype(), t.shape(), t.data().length, t::data)));
    write(out, pending, metadata);
  }

  /**
   * Writes NDArrays (for example {@link TextClassifier#parameters()}) in safetensors format, laid out
   * as {@link #write} lays out tensors. Each array is copied out of native memory only when its turn
   * comes, so a checkpoint holds one tensor on the Java heap at a time, not the whole model (or both
   * optimizer moments) at once.
   */
  public static void writeArrays(
      OutputStream out, Map<String, NDArray> arrays, Map<String, String> metadata) {
    List<Pending> pending = new ArrayList<>();
    arrays.forEach((name, array) -> {
      String dtype = dtypeName(array.getDataType());
      pending.add(new Pending(name, dtype, array.getShape().getShape(), array.size() * bytesPerElement(dtype),
          () -> Tensor.of(array).data()));
    });
    write(out, pending, metadata);
  }

  /** A tensor to write: its header fields, and its bytes, produced only when they are written. */
  private record Pending(String name, String dtype, long[] shape, long length, Supplier<byte[]> data) {}

  private static void write(OutputStream out, List<Pending> tensors, Map<String, String> metadata) {
    List<Pending> ordered = new ArrayList<>(tensors);
    ordered.sort(
        Comparator.comparingInt((Pending p) -> -bytesPerElement(p.dtype())).thenComparing(Pending::name));
    JsonObject header = new JsonObject();
    if (metadata != null && !metadata.isEmpty()) {
      JsonObject meta = new JsonObject();
      metadata.forEach(meta::addProperty);
      header.add(METADATA_KEY, meta);
    }
    long offset = 0;
    for (Pending t : ordered) {
      if (METADATA_KEY.equals(t.name())) {
        throw new TextSparkException("a tensor cannot be named " + METADATA_KEY + "; rename it.");
      }
      JsonObject info = new JsonObject();
      info.addProperty("dtype", t.dtype());
      JsonArray shape = new JsonArray();
      for (long d : t.shape()) {
        shape.add(d);
      }
      info.add("shape", shape);
      JsonArray offsets = new JsonArray();
      offsets.add(offset);
      offset += t.length();
      offsets.add(offset);
      info.add("data_offsets", offsets);
      header.add(t.name(), info);
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = Arrays.copyOf(json, padded);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    try {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
      out.write(headerBytes);
      for (Pending t : ordered) {
        byte[] data = t.data().get();
        if (data.length != t.length()) {
          throw new IllegalStateException("tensor " + t.name() + " has " + data.length + " bytes, its header "
              + t.length());
        }
        out.write(data);
      }
      out.flush();
    } catch (IOException e) {
      throw new TextSparkException("cannot write safetensors data: " + e.getMessage(), e);
    }
  }

  /** One tensor's header entry; offsets are relative to the start of the data section. */
  private record Entry(String name, String dtype, long[] shape, long begin, long end) {}

  private static List<Entry> parseHeader(String json, String source, Map<String, String> metadata) {
    JsonObject header;
    try {
      JsonElement parsed = JsonParser.parseString(json.stripTrailing());
      if (!parsed.isJsonObject()) {
        throw corrupt(source, "its header is not a JSON object");
      }
      header = parsed.getAsJsonObject();
    } catch (JsonParseException e) {
      throw corrupt(source, "its header is not valid JSON (" + e.getMessage() + ")", e);
    }
    List<Entry> entries = new ArrayList<>();
    for (Map.Entry<String, JsonElement> e : header.entrySet()) {
      if (METADATA_KEY.equals(e.getKey())) {
        if (!e.getValue().isJsonObject()) {
          throw corrupt(source, "its " + METADATA_KEY + " is not a JSON object of strings");
        }
        for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
          if (!m.getValue().isJsonPrimitive()) {
            throw corrupt(
                source, "its " + METADATA_KEY + " value " + m.getKey() + " is not a string");
          }
          metadata.put(m.getKey(), m.getValue().getAsString());
        }
        continue;
      }
      String name = e.getKey();
      try {
        JsonObject info = e.getValue().getAsJsonObject();
        String dtype = info.get("dtype").getAsString();
        bytesPerElement(dtype);
        JsonArray shapeJson = info.getAsJsonArray("shape");
        long[] shape = new long[shapeJson.size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = shapeJson.get(i).getAsLong();
          if (shape[i] < 0) {
            throw corrupt(source, "tensor " + name + " has a negative dimension " + shape[i]);
          }
        }
        JsonArray offsets = info.getAsJsonArray("data_offsets");
        long begin = offsets.get(0).getAsLong();
        long end = offsets.get(1).getAsLong();
        long expected = elementCount(shape) * bytesPerElement(dtype);
        if (begin < 0 || end - begin != expected) {
          throw corrupt(
              source,
              "tensor "
                  + name
                  + " has data_offsets ["
                  + begin
                  + ", "
                  + end
                  + "] but its dtype "
                  + dtype
                  + " and shape "
                  + Arrays.toString(shape)
                  + " need "
                  + expected
                  + " bytes");
        }
        if (expected > Integer.MAX_VALUE - 8) {
          throw corrupt(
              source,
              "tensor " + name + " is larger than 2 GB, which this reader does not support");
        }
        entries.add(new Entry(name, dtype, shape, begin, end));
      } catch (IllegalStateException
          | NullPointerException
          | IndexOutOfBoundsException
          | UnsupportedOperationException ex) {
        throw corrupt(
            source,
            "the header entry of tensor " + name + " lacks a valid dtype, shape or data_offsets",
            ex);
      }
    }
    return entries;
  }

  private static TextSparkException corrupt(String source, String problem) {
    return new TextSparkException(
        "safetensors file "
            + source
            + " is corrupt: "
            + problem
            + ". Download or write the file again.");
  }

  private static TextSparkException corrupt(String source, String problem, Throwable cause) {
    return new TextSparkException(
        "safetensors file "
            + source
            + " is corrupt: "
            + problem
            + ". Download or write the file again.",
        cause);
  }

  public static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  static int bytesPerElement(String dtype) {
    return switch (dtype) {
      case "F64", "I64", "U64" -> 8;
      case "F32", "I32", "U32" -> 4;
      case "F16", "BF16", "I16", "U16" -> 2;
      case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
      default ->
          throw new TextSparkException(
              "unknown safetensors dtype "
                  + dtype
                  + "; expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.");
    };
  }

  private static String dtypeName(DataType type) {
    return switch (type) {
      case FLOAT64 -> "F64";
      case FLOAT32 -> "F32";
      case FLOAT16 -> "F16";
      case INT64 -> "I64";
      case INT32 -> "I32";
      case INT8 -> "I8";
      case UINT8 -> "U8";
      case BOOLEAN -> "BOOL";
      default ->
          throw new TextSparkException(
              "cannot store an NDArray of type "
                  + type
                  + " in safetensors; convert it to FLOAT32 first.");
    };
  }

  /** IEEE 754 half to float; Float.float16ToFloat only exists from Java 20. */
  static float halfToFloat(short half) {
    int bits = half & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1f;
    int mantissa = bits & 0x3ff;
    if (exponent == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      // Subnormal (or zero): value = mantissa * 2^-24, exact in float.
      float value = mantissa * 0x1p-24f;
      return sign == 0 ? value : -value;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
}
