package io.textspark.checkpoint;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.textspark.TextSparkException;
import io.textspark.fs.HadoopPaths;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A committed checkpoint: a folder whose {@value #MANIFEST} lists every file with its size and
 * SHA-256. Instances only exist for folders whose manifest was valid when they were read.
 */
public final class Checkpoint {
  /** The file written last that makes a folder a checkpoint. */
  public static final String MANIFEST = "manifest.json";

  static final int FORMAT = 1;
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  /**
   * One file of a checkpoint as the manifest records it.
   *
   * @param name the file name inside the checkpoint folder
   * @param size its length in bytes
   * @param sha256 its SHA-256 as lower-case hex
   */
  public record FileEntry(String name, long size, String sha256) {}

  private final Path path;
  private final CheckpointMetadata metadata;
  private final List<FileEntry> files;
  private final Map<String, FileEntry> byName;
  private final Configuration conf;

  Checkpoint(Path path, CheckpointMetadata metadata, List<FileEntry> files, Configuration conf) {
    this.path = path;
    this.metadata = metadata;
    this.files = List.copyOf(files);
    Map<String, FileEntry> map = new LinkedHashMap<>();
    for (FileEntry f : files) {
      map.put(f.name(), f);
    }
    this.byName = Collections.unmodifiableMap(map);
    this.conf = conf;
  }

  /** The checkpoint folder, fully qualified. */
  public Path path() {
    return path;
  }

  /** The folder name, e.g. {@code epoch=1-step=268}. */
  public String name() {
    return path.getName();
  }

  /** The optimizer steps taken when the checkpoint was written. */
  public long globalStep() {
    return metadata.globalStep();
  }

  /** The epoch the checkpoint was written in. */
  public int epoch() {
    return metadata.epoch();
  }

  /** The metrics recorded with the checkpoint. */
  public Map<String, Double> metrics() {
    return metadata.metrics();
  }

  /** Everything the writer recorded: epoch, global step, metrics and extra state. */
  public CheckpointMetadata metadata() {
    return metadata;
  }

  /** The files in the order they were written. */
  public List<FileEntry> files() {
    return files;
  }

  /**
   * Opens one file after checking its current size against the manifest; the stream checks the
   * SHA-256 once all bytes are read and throws {@link TextSparkException} on a mismatch, so read it
   * to the end (a partial read is not verified).
   */
  public InputStream open(String file) {
    FileEntry entry = byName.get(file);
    if (entry == null) {
      throw new TextSparkException("checkpoint " + path + " has no file " + file + "; it has "
          + byName.keySet() + ". Ask for one of those, or save checkpoints that include " + file + ".");
    }
    Path p = new Path(path, file);
    FileSystem fs = HadoopPaths.fs(p, conf);
    try {
      long actual = fs.getFileStatus(p).getLen();
      if (actual != entry.size()) {
        throw sizeMismatch(p, Long.toString(actual), entry.size());
      }
      return new VerifyingInputStream(fs.open(p), p, entry);
    } catch (FileNotFoundException e) {
      throw new TextSparkException("checkpoint file " + p + " listed in " + MANIFEST
          + " has disappeared (deleted while in use?). Resume from another checkpoint.", e);
    } catch (IOException e) {
      throw new TextSparkException("cannot open checkpoint file " + p + ": " + e.getMessage(), e);
    }
  }

  /** Reads every file and checks its size and SHA-256 against the manifest. */
  public Checkpoint verify() {
    for (FileEntry f : files) {
      try (InputStream in = open(f.name())) {
        in.transferTo(OutputStream.nullOutputStream());
      } catch (IOException e) {
        throw new TextSparkException(
            "cannot read checkpoint file " + new Path(path, f.name()) + ": " + e.getMessage(), e);
      }
    }
    return this;
  }

  /**
   * The committed checkpoint in {@code dir}, or empty when {@code dir} has no valid manifest (it is
   * missing or unparsable, or lists a file that is missing or has another size).
   */
  public static Optional<Checkpoint> read(Path dir, Configuration conf) {
    return Optional.ofNullable(inspect(dir, conf).checkpoint());
  }

  /**
   * Whether {@code dir} was made by the checkpoint writer, committed or not: it has the writer's
   * marker or a manifest. Model loaders use it to refuse an unfinished checkpoint instead of
   * mistaking the files it has so far for a model folder.
   */
  public static boolean isCheckpointFolder(Path dir, Configuration conf) {
    FileSystem fs = HadoopPaths.fs(dir, conf);
    try {
      return fs.exists(new Path(dir, Checkpoints.WRITER_MARKER)) || fs.exists(new Path(dir, MANIFEST));
    } catch (IOException e) {
      throw new TextSparkException("cannot read " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "Checkpoint[" + path + ", step " + globalStep() + ", metrics " + metrics() + "]";
  }

  /** Why a folder is or is not a checkpoint: exactly one of the two fields is set. */
  record Inspection(Checkpoint checkpoint, String problem) {}

  /** Loads {@code dir} the way {@link #read} does, keeping the reason when it is not valid. */
  static Inspection inspect(Path dir, Configuration conf) {
    Path qualified = Checkpoints.folder(dir, conf);
    FileSystem fs = HadoopPaths.fs(qualified, conf);
    try {
      if (!fs.getFileStatus(qualified).isDirectory()) {
        return new Inspection(null, qualified + " is a file, not a checkpoint folder");
      }
      String text;
      try {
        text = HadoopPaths.readString(new Path(qualified, MANIFEST), conf);
      } catch (FileNotFoundException e) {
        return new Inspection(null, qualified + " has no " + MANIFEST
            + " (an unfinished, crashed or partly deleted checkpoint)");
      }
      JsonObject manifest;
      try {
        manifest = JsonParser.parseString(text).getAsJsonObject();
      } catch (JsonParseException | IllegalStateException e) {
        return new Inspection(null, qualified + "/" + MANIFEST + " is not a JSON object");
      }
      CheckpointMetadata metadata;
      List<FileEntry> files;
      try {
        int format = manifest.get("format").getAsInt();
        if (format != FORMAT) {
          return new Inspection(null, qualified + "/" + MANIFEST + " has format " + format
              + ", this version of textspark reads format " + FORMAT);
        }
        metadata = metadataFromJson(manifest);
        files = filesFromJson(manifest.getAsJsonArray("files"));
      } catch (RuntimeException e) {
        return new Inspection(null, qualified + "/" + MANIFEST + " is malformed: " + e);
      }
      Map<String, Long> sizes = new HashMap<>();
      for (FileStatus s : fs.listStatus(qualified)) {
        if (s.isFile()) {
          sizes.put(s.getPath().getName(), s.getLen());
        }
      }
      for (FileEntry f : files) {
        Long actual = sizes.get(f.name());
        if (actual == null) {
          return new Inspection(null, qualified + " lacks " + f.name() + " listed in its " + MANIFEST);
        }
        if (actual != f.size()) {
          return new Inspection(null, qualified + "/" + f.name() + " has " + actual
              + " bytes but the manifest says " + f.size() + " (truncated or replaced)");
        }
      }
      return new Inspection(new Checkpoint(qualified, metadata, files, conf), null);
    } catch (FileNotFoundException e) {
      return new Inspection(null, qualified + " does not exist");
    } catch (IOException e) {
      return new Inspection(null, "cannot read " + qualified + ": " + e.getMessage());
    }
  }

  /** The manifest of a checkpoint holding {@code files}, as written to {@value #MANIFEST}. */
  static JsonObject manifestJson(String name, CheckpointMetadata metadata, List<FileEntry> files) {
    JsonObject m = new JsonObject();
    m.addProperty("format", FORMAT);
    m.addProperty("name", name);
    m.addProperty("epoch", metadata.epoch());
    m.addProperty("global_step", metadata.globalStep());
    JsonObject metrics = new JsonObject();
    // JSON has no NaN or Infinity, and a diverged loss must still be recordable, so those are strings.
    metadata.metrics().forEach((k, v) ->
        metrics.add(k, Double.isFinite(v) ? new JsonPrimitive(v) : new JsonPrimitive(v.toString())));
    m.add("metrics", metrics);
    m.add("extra", metadata.extra());
    JsonArray list = new JsonArray();
    for (FileEntry f : files) {
      JsonObject o = new JsonObject();
      o.addProperty("name", f.name());
      o.addProperty("size", f.size());
      o.addProperty("sha256", f.sha256());
      list.add(o);
    }
    m.add("files", list);
    return m;
  }

  private static CheckpointMetadata metadataFromJson(JsonObject m) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (Map.Entry<String, JsonElement> e : m.getAsJsonObject("metrics").entrySet()) {
      JsonPrimitive v = e.getValue().getAsJsonPrimitive();
      metrics.put(e.getKey(), v.isString() ? parseSpecial(v.getAsString()) : v.getAsDouble());
    }
    JsonObject extra = m.has("extra") ? m.getAsJsonObject("extra") : new JsonObject();
    return new CheckpointMetadata(
        m.get("epoch").getAsInt(), m.get("global_step").getAsLong(), metrics, extra);
  }

  private static double parseSpecial(String s) {
    switch (s) {
      case "NaN":
        return Double.NaN;
      case "Infinity":
        return Double.POSITIVE_INFINITY;
      case "-Infinity":
        return Double.NEGATIVE_INFINITY;
      default:
        throw new IllegalArgumentException("metric value " + s + " is not a number");
    }
  }

  private static List<FileEntry> filesFromJson(JsonArray array) {
    List<FileEntry> files = new ArrayList<>();
    for (JsonElement e : array) {
      JsonObject o = e.getAsJsonObject();
      String name = o.get("name").getAsString();
      String problem = Checkpoints.fileNameProblem(name);
      if (problem != null) {
        // A hand-edited manifest must not make readers open files outside the folder.
        throw new IllegalArgumentException(problem);
      }
      long size = o.get("size").getAsLong();
      String sha = o.get("sha256").getAsString();
      if (size < 0 || !SHA256_HEX.matcher(sha).matches()) {
        throw new IllegalArgumentException("bad size or sha256 for " + name);
      }
      if (files.stream().anyMatch(f -> f.name().equals(name))) {
        throw new IllegalArgumentException(name + " is listed twice");
      }
      files.add(new FileEntry(name, size, sha));
    }
    return files;
  }

  static TextSparkException sizeMismatch(Path file, String actual, long expected) {
    return new TextSparkException("checkpoint file " + file + " has " + actual + " bytes but "
        + MANIFEST + " says " + expected + " (truncated or replaced). The checkpoint is damaged;"
        + " resume from another checkpoint or delete this folder.");
  }

  static TextSparkException digestMismatch(Path file, String actual, String expected) {
    return new TextSparkException("checkpoint file " + file + " is corrupt: its SHA-256 is " + actual
        + " but " + MANIFEST + " says " + expected + ". The checkpoint cannot be trusted;"
        + " resume from another checkpoint or delete this folder.");
  }

  static byte[] utf8(JsonObject json) {
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }
}
