package io.textspark.checkpoint;

import io.textspark.TextSparkException;
import io.textspark.fs.HadoopPaths;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The checkpoints folder of one training run. Only folders with a valid manifest count as
 * checkpoints; everything else (staging folders, crashed or half-deleted checkpoints) is ignored.
 * Reading is safe while the run's single writer commits new checkpoints.
 */
public final class CheckpointStore {
  private static final Pattern STAGING = Pattern.compile("\\..+\\.tmp-[0-9a-fA-F-]{36}");
  private static final Pattern URL = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:.*");
  private static final Comparator<Checkpoint> BY_STEP =
      Comparator.comparingLong(Checkpoint::globalStep).thenComparing(Checkpoint::name);

  private final Path dir;
  private final Configuration conf;

  /** A store over {@code checkpointsDir}, which need not exist yet. */
  public CheckpointStore(Path checkpointsDir, Configuration conf) {
    this.dir = Checkpoints.folder(checkpointsDir, conf);
    this.conf = conf;
  }

  /** The checkpoints folder, fully qualified. */
  public Path dir() {
    return dir;
  }

  /** Writes and commits a checkpoint in this folder; see {@link Checkpoints#write}. */
  public Checkpoint write(String name, CheckpointMetadata metadata, List<CheckpointFile> files) {
    return Checkpoints.write(dir, name, metadata, files, conf);
  }

  /** The committed checkpoints, by global step (then name), oldest first. */
  public List<Checkpoint> list() {
    FileStatus[] entries = entries();
    List<Checkpoint> found = new ArrayList<>();
    for (FileStatus s : entries) {
      String name = s.getPath().getName();
      if (s.isDirectory() && !name.startsWith(".") && !name.startsWith("_")) {
        Checkpoint.read(s.getPath(), conf).ifPresent(found::add);
      }
    }
    found.sort(BY_STEP);
    return found;
  }

  /** The checkpoint with the highest global step, if any. */
  public Optional<Checkpoint> last() {
    List<Checkpoint> all = list();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  /**
   * The checkpoint with the best value of {@code monitor} ({@code mode} "min" or "max"); those
   * without the metric or with NaN are skipped, and on a tie the older checkpoint wins.
   */
  public Optional<Checkpoint> best(String monitor, String mode) {
    List<Checkpoint> ranked = ranked(list(), monitor, mode);
    return ranked.isEmpty() ? Optional.empty() : Optional.of(ranked.get(0));
  }

  /** Resolves {@code ref} like {@link #resolve(String, String, String)} without a monitor. */
  public Checkpoint resolve(String ref) {
    return resolve(ref, null, null);
  }

  /**
   * The checkpoint a user refers to: {@code last}, {@code best} (by {@code monitor} and
   * {@code mode}), or a checkpoint folder given relative to this store or as an absolute path or
   * URL; fails with a message naming the reference when it matches no valid checkpoint.
   */
  public Checkpoint resolve(String ref, String monitor, String mode) {
    if (ref == null || ref.isBlank()) {
      throw new TextSparkException("no checkpoint reference given. Use 'last', 'best' or the path"
          + " of a checkpoint folder.");
    }
    String r = ref.trim();
    if (r.equals("last")) {
      return last().orElseThrow(() -> new TextSparkException("checkpoint reference 'last' matches"
          + " nothing: " + dir + " holds no committed checkpoint. Train with checkpointing enabled"
          + " first, or name a checkpoint folder."));
    }
    if (r.equals("best")) {
      if (monitor == null || monitor.isBlank()) {
        throw new TextSparkException("checkpoint reference 'best' needs a monitored metric and a"
            + " mode (min or max). Set them, or use 'last' or a checkpoint folder.");
      }
      return best(monitor, mode).orElseThrow(() -> new TextSparkException("checkpoint reference"
          + " 'best' matches nothing: no committed checkpoint in " + dir + " records the metric '"
          + monitor + "'. Check the metric name, or use 'last' or a checkpoint folder."));
    }
    Path path = URL.matcher(r).matches() || r.startsWith("/") ? new Path(r) : new Path(dir, r);
    Checkpoint.Inspection found = Checkpoint.inspect(path, conf);
    if (found.checkpoint() == null) {
      throw new TextSparkException("checkpoint reference '" + ref + "' is not a valid checkpoint: "
          + found.problem() + ". Use 'last', 'best' or another checkpoint folder.");
    }
    return found.checkpoint();
  }

  /**
   * Deletes the checkpoints that are not among the {@code saveTopK} best by {@code monitor}
   * ({@code mode} "min" or "max"; without a monitor the newest count as best), and returns them.
   * {@code saveTopK} -1 keeps all and 0 keeps none; with {@code keepLast} the newest checkpoint is
   * always kept. Checkpoints lacking the metric rank below all others. Call it only after the newest
   * checkpoint is committed: before that, the previous best would be deleted with nothing to
   * replace it. A checkpoint loses its manifest before its files, so a crash mid-way leaves a folder
   * readers already ignore.
   */
  public List<Checkpoint> retain(int saveTopK, String monitor, String mode, boolean keepLast) {
    if (saveTopK < -1) {
      throw new TextSparkException("save_top_k must be -1 (keep all), 0 (keep none) or positive,"
          + " got " + saveTopK + ".");
    }
    if (saveTopK == -1) {
      return List.of();
    }
    List<Checkpoint> all = list();
    List<Checkpoint> order;
    if (monitor == null || monitor.isBlank()) {
      order = new ArrayList<>(all);
      order.sort(BY_STEP.reversed());
    } else {
      order = ranked(all, monitor, mode);
      for (Checkpoint c : all) {
        if (!order.contains(c)) {
          order.add(c);
        }
      }
    }
    Set<Path> keep = new HashSet<>();
    for (Checkpoint c : order.subList(0, Math.min(saveTopK, order.size()))) {
      keep.add(c.path());
    }
    if (keepLast && !all.isEmpty()) {
      keep.add(all.get(all.size() - 1).path());
    }
    List<Checkpoint> deleted = new ArrayList<>();
    for (Checkpoint c : all) {
      if (!keep.contains(c.path())) {
        delete(c);
        deleted.add(c);
      }
    }
    return deleted;
  }

  /** What the checkpoints folder holds; nothing when it does not exist yet. */
  private FileStatus[] entries() {
    try {
      return fs().listStatus(dir);
    } catch (FileNotFoundException e) {
      return new FileStatus[0];
    } catch (IOException e) {
      throw new TextSparkException("cannot list checkpoints in " + dir + ": " + e.getMessage()
          + ". Check that the folder is readable.", e);
    }
  }

  /**
   * Removes what crashed writers left, returning it: staging folders ({@code .<name>.tmp-<uuid>})
   * and, from writers on object stores that write in place, checkpoint folders with the writer's
   * marker but no manifest. Safe only when no writer is running on this folder, i.e. when the
   * run's single writer calls it at start before writing its first checkpoint; otherwise it would
   * delete a checkpoint being written.
   */
  public List<Path> cleanupStaging() {
    FileStatus[] entries = entries();
    List<Path> removed = new ArrayList<>();
    for (FileStatus s : entries) {
      String name = s.getPath().getName();
      boolean unfinished = s.isDirectory() && !name.startsWith(".") && !name.startsWith("_")
          && isUnfinished(s.getPath());
      if (STAGING.matcher(name).matches() || unfinished) {
        HadoopPaths.deleteQuietly(s.getPath(), conf);
        removed.add(s.getPath());
      }
    }
    return removed;
  }

  /** A folder the writer started but never committed (a damaged committed one is left alone). */
  private boolean isUnfinished(Path folder) {
    try {
      return fs().exists(new Path(folder, Checkpoints.WRITER_MARKER))
          && !fs().exists(new Path(folder, Checkpoint.MANIFEST));
    } catch (IOException e) {
      return false;
    }
  }

  private void delete(Checkpoint c) {
    try {
      Path manifest = new Path(c.path(), Checkpoint.MANIFEST);
      if (!fs().delete(manifest, false) && fs().exists(manifest)) {
        throw new IOException("delete returned false");
      }
    } catch (IOException e) {
      throw new TextSparkException("cannot delete old checkpoint " + c.path() + ": " + e.getMessage()
          + ". Check the folder's permissions, or keep more checkpoints.", e);
    }
    // Without its manifest the folder is no longer a checkpoint, so a failure here only wastes space.
    HadoopPaths.deleteQuietly(c.path(), conf);
  }

  private static List<Checkpoint> ranked(List<Checkpoint> all, String monitor, String mode) {
    Comparator<Double> better;
    if ("min".equals(mode)) {
      better = Comparator.naturalOrder();
    } else if ("max".equals(mode)) {
      better = Comparator.reverseOrder();
    } else {
      throw new TextSparkException("checkpoint mode must be 'min' or 'max', got '" + mode
          + "'. Use 'min' for losses and 'max' for accuracy-like metrics.");
    }
    List<Checkpoint> with = new ArrayList<>();
    for (Checkpoint c : all) {
      Double v = c.metrics().get(monitor);
      if (v != null && !v.isNaN()) {
        with.add(c);
      }
    }
    // The sort is stable and the input is oldest first, so ties keep the older checkpoint ahead.
    with.sort(Comparator.comparing(c -> c.metrics().get(monitor), better));
    return with;
  }

  private FileSystem fs() {
    return HadoopPaths.fs(dir, conf);
  }
}
