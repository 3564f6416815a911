package io.textspark.checkpoint;

import com.google.gson.JsonElement;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One file to put into a checkpoint: its name inside the checkpoint folder and a callback that
 * streams its content, so large weights go straight to the file system without being buffered.
 *
 * @param name the file name inside the checkpoint folder, e.g. {@code model.safetensors}
 * @param content writes the file's bytes
 */
public record CheckpointFile(String name, Content content) {
  /** Streams a file's bytes into the checkpoint. */
  @FunctionalInterface
  public interface Content {
    /** Writes the whole content to {@code out}; the writer closes {@code out}, not the callback. */
    void write(OutputStream out) throws IOException;
  }

  /** Checks that both parts are present. */
  public CheckpointFile {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(content, "content");
  }

  /** A file whose content is streamed by {@code content}. */
  public static CheckpointFile of(String name, Content content) {
    return new CheckpointFile(name, content);
  }

  /** A small file held in memory. */
  public static CheckpointFile ofBytes(String name, byte[] bytes) {
    byte[] copy = bytes.clone();
    return new CheckpointFile(name, out -> out.write(copy));
  }

  /** A small JSON file, e.g. {@code trainer_state.json}. */
  public static CheckpointFile ofJson(String name, JsonElement json) {
    return ofBytes(name, json.toString().getBytes(StandardCharsets.UTF_8));
  }
}
