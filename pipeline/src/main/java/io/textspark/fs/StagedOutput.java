package io.textspark.fs;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An output folder that appears whole or not at all. Everything is written into a hidden staging
 * sibling; {@link #commit} renames it into place and writes the marker file {@value #MARKER} last.
 * Readers treat a folder without the marker as absent, which also covers file systems whose rename
 * is a copy (S3A): there a reader may see the folder filling up during the rename, but never with
 * its marker. Closing without commit deletes the staging folder and anything the rename left.
 */
public final class StagedOutput implements AutoCloseable {
  /** The marker file that makes an output folder committed; it holds the output's metadata. */
  public static final String MARKER = "_textspark.json";

  private final Configuration conf;
  private final Path target;
  private final Path staging;
  private final FileSystem fs;
  private boolean renameStarted;
  private boolean committed;

  private StagedOutput(Path target, Configuration conf) {
    this.conf = conf;
    this.target = HadoopPaths.qualify(target, conf);
    this.fs = HadoopPaths.fs(this.target, conf);
    this.staging =
        new Path(this.target.getParent(), "." + this.target.getName() + ".staging-" + UUID.randomUUID());
  }

  /**
   * Starts an output that will become {@code target}; fails at once, naming the path, when the
   * location cannot be written.
   */
  public static StagedOutput begin(Path target, Configuration conf) {
    StagedOutput out = new StagedOutput(target, conf);
    try {
      if (!out.fs.mkdirs(out.staging)) {
        throw new IOException("mkdirs returned false");
      }
      Path probe = new Path(out.staging, ".probe");
      out.fs.create(probe, true).close();
      out.fs.delete(probe, false);
    } catch (IOException | RuntimeException e) {
      HadoopPaths.deleteQuietly(out.staging, conf);
      throw new TextSparkException(
          "output location " + out.target.getParent() + " is not writable (" + e.getMessage()
              + "). Choose a folder you can write to, or fix its permissions.",
          e);
    }
    return out;
  }

  /** Where to write the output's files before the commit. */
  public Path staging() {
    return staging;
  }

  /** Where the output appears once committed. */
  public Path target() {
    return target;
  }

  /** Moves the staged folder into place (replacing an old one) and writes the marker last. */
  public void commit(JsonObject marker) {
    try {
      if (fs.exists(target)) {
        // The old marker goes first: an object store deletes a folder file by file, and readers
        // must stop trusting the old output before any of its files disappear.
        Path oldMarker = new Path(target, MARKER);
        if (fs.exists(oldMarker) && !fs.delete(oldMarker, false)) {
          throw new IOException("cannot delete " + oldMarker);
        }
        if (!fs.delete(target, true)) {
          throw new IOException("cannot delete the previous " + target);
        }
      }
      renameStarted = true;
      if (!fs.rename(staging, target)) {
        throw new IOException("cannot rename " + staging + " to " + target);
      }
      HadoopPaths.writeAtomically(
          new Path(target, MARKER), marker.toString().getBytes(StandardCharsets.UTF_8), conf);
      committed = true;
    } catch (IOException e) {
      throw new TextSparkException("could not commit " + target + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (!committed) {
      HadoopPaths.deleteQuietly(staging, conf);
      if (renameStarted) {
        // A copying rename (object stores) that failed half way leaves part of the files behind.
        HadoopPaths.deleteQuietly(target, conf);
      }
    }
  }

  /** The marker of a committed output folder, or empty when {@code dir} is absent or uncommitted. */
  public static Optional<JsonObject> marker(Path dir, Configuration conf) {
    Path file = new Path(dir, MARKER);
    try {
      if (!HadoopPaths.fs(file, conf).exists(file)) {
        return Optional.empty();
      }
      return Optional.of(JsonParser.parseString(HadoopPaths.readString(file, conf)).getAsJsonObject());
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
