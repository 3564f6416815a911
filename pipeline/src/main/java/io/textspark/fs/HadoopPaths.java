package io.textspark.fs;

import io.textspark.TextSparkException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Small helpers over Hadoop's {@link FileSystem}, so every stage works on local, HDFS and S3A. */
public final class HadoopPaths {
  private HadoopPaths() {}

  /** The file system that holds {@code path}. */
  public static FileSystem fs(Path path, Configuration conf) {
    try {
      return path.getFileSystem(conf);
    } catch (IOException e) {
      throw new TextSparkException(
          "cannot open the file system of " + path + ": " + e.getMessage()
              + ". Check the URL scheme (file, hdfs, s3a) and the file system's settings.",
          e);
    }
  }

  /** {@code path} made absolute and fully qualified, so logs and markers name it unambiguously. */
  public static Path qualify(Path path, Configuration conf) {
    return fs(path, conf).makeQualified(path);
  }

  /** Whether {@code path} exists. */
  public static boolean exists(Path path, Configuration conf) {
    try {
      return fs(path, conf).exists(path);
    } catch (IOException e) {
      throw new TextSparkException("cannot check " + path + ": " + e.getMessage(), e);
    }
  }

  /** The whole content of a small file as UTF-8 text. */
  public static String readString(Path path, Configuration conf) throws IOException {
    try (InputStream in = fs(path, conf).open(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The whole content of a file. */
  public static byte[] readBytes(Path path, Configuration conf) throws IOException {
    try (InputStream in = fs(path, conf).open(path)) {
      return in.readAllBytes();
    }
  }

  /**
   * Writes a small file so that readers see all of it or none of it: into a hidden sibling first,
   * then renamed into place.
   */
  public static void writeAtomically(Path path, byte[] content, Configuration conf) throws IOException {
    FileSystem fs = fs(path, conf);
    Path tmp = new Path(path.getParent(), "." + path.getName() + ".tmp-" + java.util.UUID.randomUUID());
    try (OutputStream out = fs.create(tmp, false)) {
      out.write(content);
    }
    if (fs.exists(path) && !fs.delete(path, false)) {
      fs.delete(tmp, false);
      throw new IOException("cannot replace " + path);
    }
    if (!fs.rename(tmp, path)) {
      fs.delete(tmp, false);
      throw new IOException("cannot rename " + tmp + " to " + path);
    }
  }

  /** Deletes {@code path} recursively, reporting but not throwing on failure (cleanup paths). */
  public static void deleteQuietly(Path path, Configuration conf) {
    try {
      fs(path, conf).delete(path, true);
    } catch (IOException | RuntimeException e) {
      System.err.println("warning: could not delete " + path + ": " + e.getMessage());
    }
  }
}
