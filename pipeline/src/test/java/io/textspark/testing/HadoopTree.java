package io.textspark.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/** Test helpers over any Hadoop file system: upload local files, list and read what a stage left. */
public final class HadoopTree {
  private HadoopTree() {}

  /** Copies a local file or folder to {@code target} (replacing it) and returns {@code target}. */
  public static Path upload(java.nio.file.Path local, Path target, Configuration conf) {
    try {
      FileSystem fs = target.getFileSystem(conf);
      fs.copyFromLocalFile(false, true, new Path(local.toUri()), target);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot upload " + local + " to " + target, e);
    }
  }

  /** The names directly below {@code dir}, sorted; empty when it does not exist. */
  public static List<String> names(Path dir, Configuration conf) {
    try {
      FileSystem fs = dir.getFileSystem(conf);
      if (!fs.exists(dir)) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (FileStatus s : fs.listStatus(dir)) {
        out.add(s.getPath().getName());
      }
      out.sort(null);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every file below {@code dir}, by path relative to it, with its content. */
  public static Map<String, byte[]> files(Path dir, Configuration conf) {
    try {
      FileSystem fs = dir.getFileSystem(conf);
      Path root = fs.makeQualified(dir);
      Map<String, byte[]> out = new LinkedHashMap<>();
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
      while (it.hasNext()) {
        Path p = it.next().getPath();
        String relative = p.toUri().getPath().substring(root.toUri().getPath().length() + 1);
        try (InputStream in = fs.open(p)) {
          out.put(relative, in.readAllBytes());
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
