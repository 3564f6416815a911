package io.textspark.checkpoint;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes checkpoints atomically: {@value Checkpoint#MANIFEST}, listing every file with its size and
 * SHA-256, is written last and is the commit point, so a crash at any point leaves either a complete
 * checkpoint or a folder readers ignore. Where a folder rename is atomic (HDFS, local disks) the
 * files go into a hidden staging folder {@code .<name>.tmp-<uuid>} that is renamed to {@code <name>}
 * before the manifest is written, so the checkpoint's folder appears whole. On object stores (S3A)
 * a rename is a copy of every file and proves nothing, so the files go straight into
 * {@code <name>}. Either way the first file written is {@value #WRITER_MARKER}, so a folder a
 * writer left unfinished is recognisable as a checkpoint (and refused by model loaders) even when
 * the files written so far would make a loadable model folder. Only one writer per checkpoints
 * folder is supported.
 */
public final class Checkpoints {
  /** What separates a staging folder's name from its random suffix. */
  static final String STAGING_INFIX = ".tmp-";

  /** The hidden file every checkpoint folder gets first, before any of its files. */
  public static final String WRITER_MARKER = ".textspark-checkpoint";

  private Checkpoints() {}

  /** The conventional checkpoint name, e.g. {@code epoch=1-step=268}. */
  public static String name(int epoch, long globalStep) {
    return "epoch=" + epoch + "-step=" + globalStep;
  }

  /**
   * Writes {@code files} in order as the checkpoint {@code name} under {@code checkpointsDir} and
   * commits it; fails without leaving anything behind when a callback or the file system fails, or
   * when a committed checkpoint of that name already exists.
   */
  public static Checkpoint write(
      Path checkpointsDir, String name, CheckpointMetadata metadata, List<CheckpointFile> files,
      Configuration conf) {
    String nameProblem = checkpointNameProblem(name);
    if (nameProblem != null) {
      throw new TextSparkException("invalid checkpoint name: " + nameProblem
          + ". Use a plain folder name such as " + name(1, 268) + ".");
    }
    checkFiles(files);
    Path dir = folder(checkpointsDir, conf);
    FileSystem fs = HadoopPaths.fs(dir, conf);
    Path target = new Path(dir, name);
    boolean inPlace = HadoopPaths.isObjectStore(fs, dir);
    Path work = inPlace ? target : new Path(dir, "." + name + STAGING_INFIX + UUID.randomUUID());
    refuseCommitted(target, conf);
    boolean targetTouched = false;
    boolean committed = false;
    try {
      if (inPlace) {
        targetTouched = true;
        removeUnfinished(fs, target);
      }
      // An object store has no folders: the first file makes it, and an empty marker object "name/"
      // would only cost requests and confuse stores that take it for a file called "name".
      if (!inPlace && !fs.mkdirs(work)) {
        throw new IOException("cannot create " + work);
      }
      writeMarker(fs, new Path(work, WRITER_MARKER), name);
      List<Checkpoint.FileEntry> entries = new ArrayList<>();
      for (CheckpointFile f : files) {
        entries.add(writeFile(fs, new Path(work, f.name()), f));
      }
      if (!inPlace) {
        // Checked again because writing the files can take minutes.
        refuseCommitted(target, conf);
        removeUnfinished(fs, target);
        targetTouched = true;
        if (!fs.rename(work, target)) {
          throw new IOException("cannot rename " + work + " to " + target);
        }
      }
      HadoopPaths.writeAtomically(new Path(target, Checkpoint.MANIFEST),
          Checkpoint.utf8(Checkpoint.manifestJson(name, metadata, entries)), conf);
      committed = true;
      return new Checkpoint(target, metadata, entries, conf);
    } catch (IOException e) {
      throw new TextSparkException("could not write checkpoint " + name + " to " + dir + ": "
          + e.getMessage() + ". Check that the folder is writable and has free space;"
          + " the unfinished checkpoint was removed.", e);
    } finally {
      if (!committed) {
        if (!inPlace) {
          HadoopPaths.deleteQuietly(work, conf);
        }
        if (targetTouched && Checkpoint.read(target, conf).isEmpty()) {
          HadoopPaths.deleteQuietly(target, conf);
        }
      }
    }
  }

  /** Deletes what a crashed writer left under the name (never a committed checkpoint: checked first). */
  private static void removeUnfinished(FileSystem fs, Path target) throws IOException {
    // Hadoop's rename moves a folder INTO an existing one, and files written in place must not
    // mix with a crashed attempt's, so a leftover must go first.
    if (fs.exists(target) && !fs.delete(target, true)) {
      throw new IOException("cannot delete the unfinished folder " + target);
    }
  }

  private static void writeMarker(FileSystem fs, Path path, String name) throws IOException {
    JsonObject marker = new JsonObject();
    marker.addProperty("checkpoint", name);
    marker.addProperty("note", "written first by the textspark checkpoint writer; the checkpoint is"
        + " committed once " + Checkpoint.MANIFEST + " exists and lists every file");
    marker.addProperty("started", Instant.now().toString());
    try (FSDataOutputStream out = fs.create(path, false)) {
      out.write(Checkpoint.utf8(marker));
    }
  }

  private static Checkpoint.FileEntry writeFile(FileSystem fs, Path path, CheckpointFile file)
      throws IOException {
    MessageDigest sha = Download.sha256();
    long size;
    try (FSDataOutputStream raw = fs.create(path, false)) {
      CountingOutputStream counting = new CountingOutputStream(raw);
      DigestOutputStream out = new DigestOutputStream(counting, sha);
      file.content().write(out);
      out.flush();
      size = counting.count;
    } catch (IOException e) {
      throw new IOException("writing " + file.name() + " failed: " + e.getMessage(), e);
    }
    // Object stores upload on close; the stored length proves the upload is the one we hashed.
    long stored = fs.getFileStatus(path).getLen();
    if (stored != size) {
      throw new IOException(file.name() + " has " + stored + " bytes after writing " + size);
    }
    return new Checkpoint.FileEntry(file.name(), size, HexFormat.of().formatHex(sha.digest()));
  }

  private static void refuseCommitted(Path target, Configuration conf) {
    if (Checkpoint.read(target, conf).isPresent()) {
      throw new TextSparkException("checkpoint " + target + " already exists and checkpoints are"
          + " never overwritten. Choose another name (names normally include the global step) or"
          + " delete that folder first.");
    }
  }

  private static void checkFiles(List<CheckpointFile> files) {
    if (files == null || files.isEmpty()) {
      throw new TextSparkException("a checkpoint needs at least one file; pass the model weights"
          + " and configuration to write.");
    }
    Set<String> seen = new HashSet<>();
    for (CheckpointFile f : files) {
      String problem = fileNameProblem(f.name());
      if (problem != null) {
        throw new TextSparkException("invalid checkpoint file name: " + problem
            + ". Use a plain file name such as model.safetensors.");
      }
      if (!seen.add(f.name())) {
        throw new TextSparkException("checkpoint file " + f.name() + " is listed twice;"
            + " give every file a distinct name.");
      }
    }
  }

  /**
   * {@code path} fully qualified and without a trailing slash: {@code Path(URI)} keeps the slash of
   * a folder URI, which would make {@link Path#getName()} empty and equal paths compare unequal.
   */
  static Path folder(Path path, Configuration conf) {
    return HadoopPaths.qualify(new Path(path.toString()), conf);
  }

  /** Why {@code name} cannot be a checkpoint folder name, or null when it can. */
  static String checkpointNameProblem(String name) {
    if (name == null || name.isBlank()) {
      return "the name is empty";
    }
    if (name.equals("last") || name.equals("best")) {
      return "'" + name + "' is reserved for CheckpointStore.resolve";
    }
    return plainNameProblem(name);
  }

  /** Why {@code name} cannot be a file name inside a checkpoint, or null when it can. */
  static String fileNameProblem(String name) {
    if (name == null || name.isBlank()) {
      return "the name is empty";
    }
    if (name.equals(Checkpoint.MANIFEST)) {
      return Checkpoint.MANIFEST + " is written by the checkpoint itself";
    }
    return plainNameProblem(name);
  }

  private static String plainNameProblem(String name) {
    if (name.startsWith(".") || name.startsWith("_")) {
      return "'" + name + "' starts with '.' or '_', which Hadoop treats as hidden";
    }
    for (char c : new char[] {'/', '\\', ':'}) {
      if (name.indexOf(c) >= 0) {
        return "'" + name + "' contains '" + c + "'";
      }
    }
    return null;
  }

  /** Counts bytes, and keeps the callback from closing the file before its length is known. */
  private static final class CountingOutputStream extends FilterOutputStream {
    private long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
