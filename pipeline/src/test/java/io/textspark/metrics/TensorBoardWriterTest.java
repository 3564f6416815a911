package io.textspark.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorBoardWriterTest {
  /** Bit-by-bit CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), independent of the JDK. */
  private static int crc32c(byte[] data, int offset, int length) {
    int crc = 0xFFFFFFFF;
    for (int i = offset; i < offset + length; i++) {
      crc ^= data[i] & 0xFF;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
      }
    }
    return ~crc;
  }

  private static int masked(byte[] data, int offset, int length) {
    int c = crc32c(data, offset, length);
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }

  /** A decoded protobuf message: field number to the raw values seen, in order. */
  private static Map<Integer, List<Object>> decode(byte[] bytes) {
    Map<Integer, List<Object>> fields = new LinkedHashMap<>();
    ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    while (in.hasRemaining()) {
      long key = varint(in);
      int field = (int) (key >>> 3);
      int wire = (int) (key & 7);
      Object value;
      switch (wire) {
        case 0:
          value = varint(in);
          break;
        case 1:
          value = in.getLong();
          break;
        case 2:
          byte[] b = new byte[(int) varint(in)];
          in.get(b);
          value = b;
          break;
        case 5:
          value = in.getInt();
          break;
        default:
          throw new AssertionError("unexpected wire type " + wire);
      }
      fields.computeIfAbsent(field, k -> new ArrayList<>()).add(value);
    }
    return fields;
  }

  private static long varint(ByteBuffer in) {
    long result = 0;
    for (int shift = 0; ; shift += 7) {
      byte b = in.get();
      result |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return result;
      }
    }
  }

  private static List<byte[]> readRecords(byte[] file) {
    List<byte[]> records = new ArrayList<>();
    ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    while (in.hasRemaining()) {
      int start = in.position();
      long length = in.getLong();
      assertEquals(masked(file, start, 8), in.getInt(), "length CRC");
      byte[] data = new byte[(int) length];
      in.get(data);
      assertEquals(masked(data, 0, data.length), in.getInt(), "data CRC");
      records.add(data);
    }
    return records;
  }

  @Test
  void crcImplementationMatchesTheStandardCheckValue() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertEquals(0xE3069283, crc32c(check, 0, check.length));
  }

  @Test
  void writesScalarsTensorBoardCanRead(@TempDir Path dir) throws IOException {
    long before = System.currentTimeMillis() / 1000;
    String name;
    try (TensorBoardWriter writer = TensorBoardWriter.inDirectory(dir)) {
      name = writer.fileName();
      writer.scalar("train/loss", 0.75f, 1);
      writer.scalar("train/lr", 2e-5f, 300_000_000_000L);
      Map<String, Double> eval = new LinkedHashMap<>();
      eval.put("eval/mcc", 0.5);
      eval.put("eval/accuracy", -1.25);
      writer.scalars(eval, 10);
    }
    assertTrue(name.matches("events\\.out\\.tfevents\\.\\d{10}\\..+"), name);
    List<byte[]> records = readRecords(Files.readAllBytes(dir.resolve(name)));
    assertEquals(4, records.size());

    Map<Integer, List<Object>> header = decode(records.get(0));
    String version = new String((byte[]) header.get(3).get(0), StandardCharsets.UTF_8);
    assertEquals("brain.Event:2", version);
    double wallTime = Double.longBitsToDouble((Long) header.get(1).get(0));
    assertTrue(wallTime >= before && wallTime < before + 60, "wall time " + wallTime);

    assertScalars(records.get(1), 1, Map.of("train/loss", 0.75f));
    assertScalars(records.get(2), 300_000_000_000L, Map.of("train/lr", 2e-5f));
    assertScalars(records.get(3), 10, Map.of("eval/mcc", 0.5f, "eval/accuracy", -1.25f));
  }

  private static void assertScalars(byte[] record, long step, Map<String, Float> expected) {
    Map<Integer, List<Object>> event = decode(record);
    assertEquals(step, (Long) event.get(2).get(0));
    Map<Integer, List<Object>> summary = decode((byte[]) event.get(5).get(0));
    Map<String, Float> actual = new LinkedHashMap<>();
    for (Object v : summary.get(1)) {
      Map<Integer, List<Object>> value = decode((byte[]) v);
      actual.put(new String((byte[]) value.get(1).get(0), StandardCharsets.UTF_8),
          Float.intBitsToFloat((Integer) value.get(2).get(0)));
    }
    assertEquals(expected, actual);
  }
}
