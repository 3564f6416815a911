package io.textspark.fs;

import io.textspark.TextSparkException;
import io.textspark.console.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonPathCapabilities;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Small helpers over Hadoop's {@link FileSystem}, so every stage works on local, HDFS and S3A. */
public final class HadoopPaths {
  /** Object stores whose connectors may not declare {@link CommonPathCapabilities#ABORTABLE_STREAM}. */
  private static final Set<String> OBJECT_STORE_SCHEMES = Set.of("s3a", "gs");

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
   * Whether {@code path} lives on an object store (S3A, GCS): a file appears whole when its writer
   * closes it, or not at all, but renaming a folder copies its files one by one, so a rename is
   * neither atomic nor cheap there. HDFS and local disks rename atomically and are not object stores.
   */
  public static boolean isObjectStore(FileSystem fs, Path path) {
    if (OBJECT_STORE_SCHEMES.contains(fs.getScheme().toLowerCase(Locale.ROOT))) {
      return true;
    }
    try {
      // Output streams that can be aborted are the ones that publish nothing before close.
      return fs.hasPathCapability(path, CommonPathCapabilities.ABORTABLE_STREAM);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Writes a small file so that readers see all of it or none of it (the old content, when
   * replacing): into a hidden sibling first, then renamed into place; on an object store, where
   * the upload itself is atomic and a rename would be a second copy, directly.
   */
  public static void writeAtomically(Path path, byte[] content, Configuration conf) throws IOException {
    FileSystem fs = fs(path, conf);
    if (isObjectStore(fs, path)) {
      try (OutputStream out = fs.create(path, true)) {
        out.write(content);
      }
      return;
    }
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
      Console.warn("warning: could not delete " + path + ": " + e.getMessage());
    }
  }
}
