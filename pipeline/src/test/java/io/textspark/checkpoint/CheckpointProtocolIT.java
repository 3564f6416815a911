package io.textspark.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.config.ModelConfig;
import io.textspark.model.PretrainedModel;
import io.textspark.testing.FileSystemServers;
import io.textspark.testing.HadoopTree;
import io.textspark.testing.KilledWriter;
import io.textspark.testing.TinyBert;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The checkpoint commit protocol on a real HDFS and a real S3 server: a writer killed between files
 * leaves nothing that {@code last} or a model loader would take; readers polling while a writer
 * commits never see half a checkpoint; {@code save_top_k} deletes only after the new one commits.
 */
class CheckpointProtocolIT {
  @RegisterExtension static final FileSystemServers SERVERS = new FileSystemServers();
  private static final ModelConfig NO_HUB = new ModelConfig("unused", "file:///nonexistent", "main", "");

  @TempDir Path tmp;

  private final Configuration conf = SERVERS.conf();

  private CheckpointStore store(String scheme, String test) {
    return new CheckpointStore(new org.apache.hadoop.fs.Path(SERVERS.root(scheme, "protocol/" + test + "/checkpoints")),
        conf);
  }

  private static Checkpoint save(CheckpointStore store, long step, double loss) {
    return store.write(Checkpoints.name(0, step), CheckpointMetadata.of(0, step, Map.of("val/loss", loss)),
        KilledWriter.trainerLikeFiles(step, i -> { }));
  }

  private static List<Long> steps(CheckpointStore store) {
    return store.list().stream().map(Checkpoint::globalStep).collect(Collectors.toList());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hdfs", "s3a"})
  void aWriterKilledBetweenFilesLeavesNothingThatLastOrAModelLoaderWouldTake(String scheme) throws Exception {
    CheckpointStore store = store(scheme, "killed");
    save(store, 10, 0.5);
    // The child stops in the optimizer state, after weights, config and tokenizer: on an object store
    // that is a complete-looking model folder, unless the loader knows it for a checkpoint.
    Map<String, String> settings = new LinkedHashMap<>(SERVERS.s3Settings(SERVERS.bucket()));
    settings.put("fs.s3a.bucket." + SERVERS.bucket() + ".aws.credentials.provider",
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider");
    KilledWriter.killMidWrite(store.dir().toString(), Checkpoints.name(0, 20), 20, 3, settings,
        SERVERS.s3Environment(), tmp.resolve("writer.log"));

    List<String> left = HadoopTree.names(store.dir(), conf);
    assertTrue(left.size() == 2 && left.contains("epoch=0-step=10"), "the killed writer left its folder: " + left);
    String unfinished = left.stream().filter(n -> !n.equals("epoch=0-step=10")).findFirst().orElseThrow();
    if (scheme.equals("hdfs")) {
      assertTrue(unfinished.startsWith(".epoch=0-step=20.tmp-"), "HDFS writes into a hidden staging folder");
    } else {
      assertEquals("epoch=0-step=20", unfinished, "S3A writes in place: a rename would be a copy");
      assertTrue(HadoopTree.names(new org.apache.hadoop.fs.Path(store.dir(), unfinished), conf)
          .containsAll(List.of("model.safetensors", "config.json", "tokenizer.json")));
    }

    assertEquals(List.of(10L), steps(store));
    assertEquals(10, store.last().orElseThrow().globalStep());
    assertEquals(10, store.resolve("last").globalStep());
    String path = new org.apache.hadoop.fs.Path(store.dir(), unfinished).toString();
    TextSparkException refused = assertThrows(TextSparkException.class, () -> store.resolve(path));
    assertTrue(refused.getMessage().contains("no manifest.json"), refused.getMessage());
    TextSparkException notLoaded = assertThrows(TextSparkException.class,
        () -> PretrainedModel.load(path, NO_HUB, conf));
    assertTrue(notLoaded.getMessage().contains("is not committed"), notLoaded.getMessage());
    assertEquals(TinyBert.CONFIG.describe(),
        PretrainedModel.load(store.resolve("last").path().toString(), NO_HUB, conf).config().describe());

    // The next writer of the run clears the leftovers, and the same checkpoint can then be written.
    assertEquals(List.of(unfinished), store.cleanupStaging().stream()
        .map(org.apache.hadoop.fs.Path::getName).collect(Collectors.toList()));
    assertEquals(List.of("epoch=0-step=10"), HadoopTree.names(store.dir(), conf));
    save(store, 20, 0.4).verify();
    assertEquals(List.of(10L, 20L), steps(store));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hdfs", "s3a"})
  void readersPollingWhileTheWriterCommitsAndRetainsNeverSeeHalfACheckpoint(String scheme) throws Exception {
    CheckpointStore store = store(scheme, "readers");
    CheckpointStore reader = new CheckpointStore(store.dir(), conf);
    int count = 5;
    AtomicBoolean writerDone = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicInteger polls = new AtomicInteger();
    AtomicInteger deletedWhileReading = new AtomicInteger();
    Set<Long> verified = ConcurrentHashMap.newKeySet();
    Thread poller = new Thread(() -> {
      try {
        boolean last = false;
        while (!last) {
          last = writerDone.get();
          polls.incrementAndGet();
          for (Checkpoint c : reader.list()) {
            if (verified.contains(c.globalStep())) {
              continue;
            }
            try {
              c.verify();
              verified.add(c.globalStep());
            } catch (TextSparkException e) {
              // Only retain may take a listed checkpoint away, and it removes the manifest first.
              if (Checkpoint.read(c.path(), conf).isPresent()) {
                throw new AssertionError("a listed checkpoint failed to verify but is still committed", e);
              }
              deletedWhileReading.incrementAndGet();
            }
          }
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "checkpoint-reader");
    poller.start();
    try {
      for (long step = 1; step <= count; step++) {
        // The loss goes up and down, so retain(2) deletes old and new checkpoints alike.
        save(store, step, step % 2 == 0 ? 1.0 / step : 2.0 / step);
        store.retain(2, "val/loss", "min", true);
      }
    } finally {
      writerDone.set(true);
      poller.join(120_000);
    }
    assertFalse(poller.isAlive());
    if (failure.get() != null) {
      throw new AssertionError("a reader saw a bad checkpoint", failure.get());
    }
    assertTrue(polls.get() > count, "the reader polled while the writer wrote (" + polls.get() + " polls)");
    assertTrue(verified.contains((long) count), "the last checkpoint was read: " + verified);
    // Losses 2, 0.5, 0.67, 0.25, 0.4: the best two are steps 4 and 5, and 5 is also the newest.
    assertEquals(List.of(4L, 5L), steps(store));
    System.out.printf("%s: %d polls, verified %s, %d listed checkpoints deleted before they were read%n", scheme,
        polls.get(), verified, deletedWhileReading.get());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hdfs", "s3a"})
  void saveTopKDeletesTheOldBestOnlyAfterTheNewOneIsCommitted(String scheme) {
    CheckpointStore store = store(scheme, "topk");
    Checkpoint old = save(store, 1, 0.5);
    store.retain(1, "val/loss", "min", true);
    List<Long> seenMidWrite = new ArrayList<>();
    // A better checkpoint: while its files are written, the old one must still be there, whole.
    Checkpoint better = store.write(Checkpoints.name(0, 2), CheckpointMetadata.of(0, 2, Map.of("val/loss", 0.1)),
        KilledWriter.trainerLikeFiles(2, i -> {
          if (i == 4) {
            seenMidWrite.addAll(steps(store));
            store.resolve("last").verify();
          }
        }));
    assertEquals(List.of(1L), seenMidWrite);
    assertEquals(List.of(1L, 2L), steps(store), "written, not yet retained: both are there");
    List<Checkpoint> deleted = store.retain(1, "val/loss", "min", true);
    assertEquals(List.of(old.path()), deleted.stream().map(Checkpoint::path).collect(Collectors.toList()));
    assertEquals(List.of(2L), steps(store));
    assertEquals(List.of(better.name()), HadoopTree.names(store.dir(), conf), "the old folder is gone too");
  }
}
