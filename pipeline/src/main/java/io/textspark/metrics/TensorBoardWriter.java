package io.textspark.metrics;

import io.textspark.TextSparkException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Writes scalars to a TensorBoard event file without TensorFlow or protobuf: each {@code Event}
 * protobuf is encoded by hand and framed as a TFRecord, so {@code tensorboard --logdir} reads it.
 *
 * <p>The caller opens the stream, which lets the file live on any Hadoop file system; it should
 * name the file {@link #fileName(String)} inside the log directory, because TensorBoard only reads
 * files whose names contain {@code tfevents}.
 */
public final class TensorBoardWriter implements MetricsSink {
  /** Opens the output stream of an event file, given the file's name. */
  @FunctionalInterface
  public interface StreamOpener {
    /** Opens a new file called fileName for writing. */
    OutputStream open(String fileName) throws IOException;
  }

  /** The file version TensorBoard expects in the first record. */
  public static final String FILE_VERSION = "brain.Event:2";

  private static final int MASK_DELTA = 0xa282ead8;

  private final String fileName;
  private final OutputStream out;
  private boolean closed;

  /** Opens {@link #fileName(String)} with opener and writes the file-version record. */
  public TensorBoardWriter(StreamOpener opener, String suffix) {
    this.fileName = fileName(suffix);
    try {
      this.out = opener.open(fileName);
    } catch (IOException e) {
      throw failure(e);
    }
    writeRecord(event(wallTime(), 0, FILE_VERSION, null));
    flush();
  }

  /** Writes an event file in a local directory, creating the directory if needed. */
  public static TensorBoardWriter inDirectory(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new TextSparkException(
          "cannot create the TensorBoard directory " + dir + " (" + e.getMessage()
              + "); choose a writable log directory.", e);
    }
    return new TensorBoardWriter(name -> Files.newOutputStream(dir.resolve(name)), "");
  }

  /**
   * The event file name TensorBoard conventionally uses, {@code
   * events.out.tfevents.<unix seconds>.<hostname><suffix>}; a suffix keeps two writers started in
   * the same second on the same host (for example train and eval) from colliding.
   */
  public static String fileName(String suffix) {
    return String.format("events.out.tfevents.%010d.%s%s",
        System.currentTimeMillis() / 1000, hostname(), suffix);
  }

  /** The name of the file this writer writes. */
  public String fileName() {
    return fileName;
  }

  /** Records value under tag at the given training step. */
  public void scalar(String tag, float value, long step) {
    scalars(Map.of(tag, value), step);
  }

  /** Records several tagged values at the same step, in one event, and flushes. */
  public void scalars(Map<String, ? extends Number> values, long step) {
    ByteArrayOutputStream summary = new ByteArrayOutputStream();
    for (Map.Entry<String, ? extends Number> e : values.entrySet()) {
      ByteArrayOutputStream value = new ByteArrayOutputStream();
      writeBytesField(value, 1, e.getKey().getBytes(StandardCharsets.UTF_8));
      writeTag(value, 2, 5);
      writeFixed32(value, Float.floatToIntBits(e.getValue().floatValue()));
      writeBytesField(summary, 1, value.toByteArray());
    }
    writeRecord(event(wallTime(), step, null, summary.toByteArray()));
    flush();
  }

  /** Records {@code values} at {@code step}; TensorBoard has no notion of epoch or split (tags carry it). */
  @Override
  public void scalars(Map<String, Double> values, long step, int epoch, String split) {
    scalars(values, step);
  }

  /** Pushes buffered records to the file system. */
  @Override
  public void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw failure(e);
    }
  }

  /** Flushes and closes the file. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      out.close();
    } catch (IOException e) {
      throw failure(e);
    }
  }

  /** Applies TFRecord's CRC mask, which keeps a CRC of data that embeds CRCs well distributed. */
  static int maskedCrc32c(byte[] data, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(data, offset, length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }

  private static byte[] event(double wallTime, long step, String fileVersion, byte[] summary) {
    ByteArrayOutputStream event = new ByteArrayOutputStream();
    writeTag(event, 1, 1);
    writeFixed64(event, Double.doubleToLongBits(wallTime));
    if (step != 0) {
      writeTag(event, 2, 0);
      writeVarint(event, step);
    }
    if (fileVersion != null) {
      writeBytesField(event, 3, fileVersion.getBytes(StandardCharsets.UTF_8));
    }
    if (summary != null) {
      writeBytesField(event, 5, summary);
    }
    return event.toByteArray();
  }

  private void writeRecord(byte[] data) {
    if (closed) {
      throw new IllegalStateException("the TensorBoard writer for " + fileName + " is closed");
    }
    byte[] length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(data.length).array();
    ByteBuffer record = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
    record.put(length).putInt(maskedCrc32c(length, 0, 8));
    record.put(data).putInt(maskedCrc32c(data, 0, data.length));
    try {
      out.write(record.array());
    } catch (IOException e) {
      throw failure(e);
    }
  }

  private static void writeTag(ByteArrayOutputStream out, int field, int wireType) {
    writeVarint(out, ((long) field << 3) | wireType);
  }

  private static void writeBytesField(ByteArrayOutputStream out, int field, byte[] bytes) {
    writeTag(out, field, 2);
    writeVarint(out, bytes.length);
    out.writeBytes(bytes);
  }

  /** Protobuf base-128 varint; a negative int64 takes ten bytes, as protobuf encodes it. */
  private static void writeVarint(ByteArrayOutputStream out, long value) {
    long v = value;
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static void writeFixed32(ByteArrayOutputStream out, int bits) {
    for (int i = 0; i < 4; i++) {
      out.write((bits >>> (8 * i)) & 0xFF);
    }
  }

  private static void writeFixed64(ByteArrayOutputStream out, long bits) {
    for (int i = 0; i < 8; i++) {
      out.write((int) ((bits >>> (8 * i)) & 0xFF));
    }
  }

  private static double wallTime() {
    return System.currentTimeMillis() / 1000.0;
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      // The name only keeps files from different hosts apart, so a fixed stand-in is harmless.
      return "localhost";
    }
  }

  private TextSparkException failure(IOException e) {
    return new TextSparkException(
        "cannot write the TensorBoard event file " + fileName + " (" + e.getMessage()
            + "); check that the log directory exists, is writable and its disk is not full.", e);
  }
}
