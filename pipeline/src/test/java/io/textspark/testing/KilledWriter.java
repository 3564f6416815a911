package io.textspark.testing;

import com.google.gson.JsonObject;
import io.textspark.checkpoint.CheckpointFile;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.CheckpointMetadata;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.model.Safetensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.apache.hadoop.conf.Configuration;

/**
 * A checkpoint writer that is killed (SIGKILL) between files: a child JVM writes a checkpoint laid
 * out like the trainer's, completes some files, writes half of the next, announces it, and waits to
 * be killed. Nothing of the writer's own cleanup runs, exactly as when a driver or executor dies.
 */
public final class KilledWriter {
  private static final String STOPPED = "KILLED-WRITER STOPPED";
  private static final int CHUNK = 64 * 1024;

  private KilledWriter() {}

  /**
   * The files of a trainer checkpoint of {@link TinyBert}, in the trainer's order: a loadable model
   * folder (weights, config, tokenizer) once the first three are written. {@code halfWritten} is
   * called with a file's index once at least half of it is written, before it is closed.
   */
  public static List<CheckpointFile> trainerLikeFiles(long seed, IntConsumer halfWritten) {
    byte[] weights = weights(seed);
    byte[] optimizer = new byte[2 * weights.length];
    new Random(seed).nextBytes(optimizer);
    JsonObject state = new JsonObject();
    state.addProperty("seed", seed);
    byte[] tokenizer;
    try {
      tokenizer = Files.readAllBytes(Shared.miniLm().resolve(CheckpointLayout.TOKENIZER));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    List<byte[]> contents = List.of(weights, TinyBert.CONFIG.toJson().getBytes(StandardCharsets.UTF_8), tokenizer,
        optimizer, state.toString().getBytes(StandardCharsets.UTF_8));
    List<String> names = List.of(CheckpointLayout.WEIGHTS, CheckpointLayout.CONFIG, CheckpointLayout.TOKENIZER,
        CheckpointLayout.OPTIMIZER, CheckpointLayout.TRAINER_STATE);
    List<CheckpointFile> files = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      int index = i;
      byte[] bytes = contents.get(i);
      files.add(CheckpointFile.of(names.get(i), out -> {
        // Chunks, so a writer stopped inside a file has really written part of it.
        boolean told = false;
        for (int off = 0; off < bytes.length; off += CHUNK) {
          int n = Math.min(CHUNK, bytes.length - off);
          out.write(bytes, off, n);
          if (!told && off + n >= bytes.length / 2) {
            told = true;
            halfWritten.accept(index);
          }
        }
      }));
    }
    return files;
  }

  private static byte[] weights(long seed) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Safetensors.write(out, TinyBert.encoderWeights(seed), Map.of("format", "pt"));
    return out.toByteArray();
  }

  /**
   * Starts the writer of checkpoint {@code name} (global step {@code step}) in {@code checkpointsDir},
   * waits until it has completed {@code completeFiles} files and half of the next, and kills it.
   * {@code hadoop} holds Hadoop settings for the child; {@code env} its extra environment (S3
   * credentials).
   */
  public static void killMidWrite(String checkpointsDir, String name, long step, int completeFiles,
      Map<String, String> hadoop, Map<String, String> env, Path log) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of(checkpointsDir, name, Long.toString(step),
        Integer.toString(completeFiles)));
    hadoop.forEach((k, v) -> args.add(k + "=" + v));
    Files.deleteIfExists(log);
    ChildJvm child = ChildJvm.start("killed checkpoint writer", System.getProperty("java.class.path"),
        List.of("-Xmx256m", "-Daws.disableEc2Metadata=true"), KilledWriter.class.getName(), args, env, log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    try {
      while (!Files.readString(log).contains(STOPPED)) {
        if (!child.alive() || System.nanoTime() > deadline) {
          throw new AssertionError("the writer did not reach its stopping point:\n" + child.tail());
        }
        Thread.sleep(50);
      }
    } finally {
      child.kill();
    }
  }

  /** The child: {@code KilledWriter <checkpoints dir> <name> <step> <complete files> [hadoop key=value ...]}. */
  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    for (int i = 4; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      conf.set(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    String name = args[1];
    long step = Long.parseLong(args[2]);
    int complete = Integer.parseInt(args[3]);
    CheckpointStore store = new CheckpointStore(new org.apache.hadoop.fs.Path(args[0]), conf);
    store.write(name, CheckpointMetadata.of(0, step, Map.of("val/loss", 0.0)), trainerLikeFiles(step, index -> {
      if (index == complete) {
        System.out.println(STOPPED + " in file " + complete + " of " + name);
        System.out.flush();
        try {
          Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }));
    throw new IllegalStateException("the writer was meant to be killed before committing");
  }
}
