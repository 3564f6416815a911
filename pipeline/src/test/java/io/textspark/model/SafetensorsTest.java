package io.textspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.textspark.TextSparkException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Round trips and corruption handling of the safetensors reader and writer. */
class SafetensorsTest {

  private static Map<String, Safetensors.Tensor> sample() {
    Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
    tensors.put(
        "b.weight",
        Safetensors.Tensor.ofFloats(
            new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, Float.MIN_VALUE, -0f}));
    tensors.put(
        "a.bias", Safetensors.Tensor.ofFloats(new long[] {3}, new float[] {0.25f, 7, -1e-30f}));
    tensors.put("scalar", Safetensors.Tensor.ofFloats(new long[] {}, new float[] {42}));
    byte[] ids =
        ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(5).putLong(-1).array();
    tensors.put("position_ids", new Safetensors.Tensor("I64", new long[] {1, 2}, ids));
    return tensors;
  }

  private static byte[] bytes(
      Map<String, Safetensors.Tensor> tensors, Map<String, String> metadata) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Safetensors.write(out, tensors, metadata);
    return out.toByteArray();
  }

  @Test
  void roundTripIsExact() {
    byte[] file = bytes(sample(), Map.of("format", "pt", "step", "12"));
    long headerLength = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8, "data must start 8-byte aligned");
    Safetensors.Contents contents =
        Safetensors.readContents(new ByteArrayInputStream(file), "test");
    assertEquals(sample(), contents.tensors());
    assertEquals(Map.of("format", "pt", "step", "12"), contents.metadata());
    assertArrayEquals(new long[] {5, -1}, contents.tensors().get("position_ids").toLongArray());
  }

  @Test
  void headerListsNamesSortedByDtypeWidthThenName() {
    byte[] file = bytes(sample(), Map.of());
    String header =
        new String(
            file, 8, (int) ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
    assertTrue(header.indexOf("position_ids") < header.indexOf("a.bias"), header);
    assertTrue(header.indexOf("a.bias") < header.indexOf("b.weight"), header);
    assertTrue(header.indexOf("b.weight") < header.indexOf("scalar"), header);
  }

  @Test
  void truncatedDataIsReported() {
    byte[] file = bytes(sample(), Map.of());
    byte[] cut = Arrays.copyOf(file, file.length - 5);
    TextSparkException e =
        assertThrows(
            TextSparkException.class,
            () -> Safetensors.read(new ByteArrayInputStream(cut), "cut.safetensors"));
    assertTrue(
        e.getMessage().contains("cut.safetensors") && e.getMessage().contains("truncated"),
        e.getMessage());
  }

  @Test
  void truncatedHeaderAndGarbageAreReported() {
    byte[] file = bytes(sample(), Map.of());
    byte[] cut = Arrays.copyOf(file, 20);
    TextSparkException header =
        assertThrows(
            TextSparkException.class, () -> Safetensors.read(new ByteArrayInputStream(cut)));
    assertTrue(header.getMessage().contains("header"), header.getMessage());
    byte[] garbage = "this is not a safetensors file at all".getBytes(StandardCharsets.UTF_8);
    TextSparkException length =
        assertThrows(
            TextSparkException.class, () -> Safetensors.read(new ByteArrayInputStream(garbage)));
    assertTrue(length.getMessage().contains("header length"), length.getMessage());
    TextSparkException empty =
        assertThrows(
            TextSparkException.class,
            () -> Safetensors.read(new ByteArrayInputStream(new byte[3])));
    assertTrue(empty.getMessage().contains("fewer than"), empty.getMessage());
  }

  @Test
  void inconsistentOffsetsAreReported() {
    String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}";
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer file = ByteBuffer.allocate(8 + json.length + 16).order(ByteOrder.LITTLE_ENDIAN);
    file.putLong(json.length).put(json);
    TextSparkException e =
        assertThrows(
            TextSparkException.class,
            () -> Safetensors.read(new ByteArrayInputStream(file.array())));
    assertTrue(
        e.getMessage().contains("tensor w") && e.getMessage().contains("16 bytes"), e.getMessage());
  }

  @Test
  void halfPrecisionIsWidenedToFloat() {
    short[] half = {0x3C00, (short) 0xC000, 0x3800, 0x0001, 0x7BFF, (short) 0xFC00};
    float[] expected = {1f, -2f, 0.5f, 5.9604645e-8f, 65504f, Float.NEGATIVE_INFINITY};
    ByteBuffer f16 = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    for (short s : half) {
      f16.putShort(s);
    }
    assertArrayEquals(
        expected, new Safetensors.Tensor("F16", new long[] {6}, f16.array()).toFloatArray());
    ByteBuffer bf16 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    bf16.putShort((short) 0x3F80).putShort((short) 0xC0A0);
    assertArrayEquals(
        new float[] {1f, -5f},
        new Safetensors.Tensor("BF16", new long[] {2}, bf16.array()).toFloatArray());
  }

  @Test
  void ndArraysRoundTrip() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray weights = manager.randomNormal(new Shape(4, 5));
      NDArray ids = manager.arange(0, 6, 1, DataType.INT64).reshape(2, 3);
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      arrays.put("weights", weights);
      arrays.put("ids", ids);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Safetensors.writeArrays(out, arrays, null);
      Map<String, Safetensors.Tensor> read =
          Safetensors.read(new ByteArrayInputStream(out.toByteArray()));
      NDArray weightsBack = read.get("weights").toNDArray(manager);
      NDArray idsBack = read.get("ids").toNDArray(manager);
      assertEquals(weights.getShape(), weightsBack.getShape());
      assertArrayEquals(weights.toFloatArray(), weightsBack.toFloatArray());
      assertEquals(DataType.INT64, idsBack.getDataType());
      assertArrayEquals(ids.toLongArray(), idsBack.toLongArray());
    }
  }

  @Test
  void arraysStreamTheBytesTheirCopiesWouldGive() {
    try (NDManager manager = NDManager.newBaseManager()) {
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      arrays.put("b", manager.randomNormal(new Shape(3, 2)));
      arrays.put("a", manager.arange(0, 4, 1, DataType.INT32));
      arrays.put("c", manager.arange(0, 2, 1, DataType.INT64));
      Map<String, Safetensors.Tensor> copies = new LinkedHashMap<>();
      arrays.forEach((name, array) -> copies.put(name, Safetensors.Tensor.of(array)));
      ByteArrayOutputStream streamed = new ByteArrayOutputStream();
      ByteArrayOutputStream copied = new ByteArrayOutputStream();
      Safetensors.writeArrays(streamed, arrays, Map.of("step", "3"));
      Safetensors.write(copied, copies, Map.of("step", "3"));
      assertArrayEquals(copied.toByteArray(), streamed.toByteArray());
      assertEquals(8 + 3 * 2 * 4 + 2 * 8 + 4 * 4, streamed.size() - headerLength(streamed.toByteArray()));
    }
  }

  private static int headerLength(byte[] file) {
    return (int) ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }
}
