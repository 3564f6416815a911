package io.textspark.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.fs.Download;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();
  private java.nio.file.Path root;
  private CheckpointStore store;

  @BeforeEach
  void setUp() {
    root = tmp.resolve("checkpoints");
    store = new CheckpointStore(new Path(root.toString()), conf);
  }

  private Checkpoint save(long step, Map<String, Double> metrics) {
    int epoch = (int) (step / 100);
    return store.write(Checkpoints.name(epoch, step), CheckpointMetadata.of(epoch, step, metrics),
        List.of(CheckpointFile.ofBytes("model.safetensors", CheckpointTest.random(step, 1000))));
  }

  /**
   * Five checkpoints, written out of step order so sorting is exercised; val_loss best to worst:
   * 400 (0.2), 200 (0.3), 300 (0.4), 100 (0.5), 500 (0.6); step 250 has no val_loss.
   */
  private void saveFive() {
    save(300, Map.of("val_loss", 0.4, "val_acc", 0.70));
    save(100, Map.of("val_loss", 0.5, "val_acc", 0.60));
    save(200, Map.of("val_loss", 0.3, "val_acc", 0.75));
    save(250, Map.of("train_loss", 0.1));
    save(400, Map.of("val_loss", 0.2, "val_acc", 0.90));
    save(500, Map.of("val_loss", 0.6, "val_acc", 0.65));
  }

  private List<Long> steps(List<Checkpoint> checkpoints) {
    return checkpoints.stream().map(Checkpoint::globalStep).collect(Collectors.toList());
  }

  /** What is really on disk, so deleted checkpoints must be gone and not merely invalid. */
  private Set<String> folders() throws IOException {
    try (Stream<java.nio.file.Path> s = Files.list(root)) {
      return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  @Test
  void listIsSortedByStepAndLastAndBestFollowTheMetric() {
    assertTrue(store.list().isEmpty(), "a missing folder holds no checkpoints");
    assertTrue(store.last().isEmpty());
    saveFive();
    assertEquals(List.of(100L, 200L, 250L, 300L, 400L, 500L), steps(store.list()));
    assertEquals(500, store.last().orElseThrow().globalStep());
    assertEquals(400, store.best("val_loss", "min").orElseThrow().globalStep());
    assertEquals(500, store.best("val_loss", "max").orElseThrow().globalStep());
    assertEquals(400, store.best("val_acc", "max").orElseThrow().globalStep());
    assertEquals(250, store.best("train_loss", "min").orElseThrow().globalStep());
    assertTrue(store.best("f1", "max").isEmpty());
    assertThrows(TextSparkException.class, () -> store.best("val_loss", "lowest"));
  }

  @Test
  void tieOnTheMonitoredMetricPrefersTheOlderCheckpoint() {
    save(100, Map.of("val_loss", 0.3));
    save(200, Map.of("val_loss", 0.3));
    save(300, Map.of("val_loss", Double.NaN));
    assertEquals(100, store.best("val_loss", "min").orElseThrow().globalStep());
    assertEquals(100, store.best("val_loss", "max").orElseThrow().globalStep(), "NaN is never best");
  }

  @Test
  void resolveAcceptsLastBestAndPaths() {
    saveFive();
    assertEquals(500, store.resolve("last").globalStep());
    assertEquals(400, store.resolve("best", "val_loss", "min").globalStep());
    assertEquals(200, store.resolve("epoch=2-step=200").globalStep());
    assertEquals(300, store.resolve(root.resolve("epoch=3-step=300").toString()).globalStep());
    assertEquals(100, store.resolve(root.resolve("epoch=1-step=100").toUri().toString()).globalStep());
    TextSparkException noMonitor = assertThrows(TextSparkException.class, () -> store.resolve("best"));
    assertTrue(noMonitor.getMessage().contains("'best'"), noMonitor.getMessage());
    TextSparkException noMetric =
        assertThrows(TextSparkException.class, () -> store.resolve("best", "f1", "max"));
    String msg = noMetric.getMessage();
    assertTrue(msg.contains("'best'") && msg.contains("f1"), msg);
  }

  @Test
  void retainTopTwoKeepsTheNewestWhenKeepLast() throws IOException {
    saveFive();
    List<Checkpoint> deleted = store.retain(2, "val_loss", "min", true);
    assertEquals(List.of(100L, 250L, 300L), steps(deleted));
    assertEquals(List.of(200L, 400L, 500L), steps(store.list()), "top 2 by val_loss plus the newest");
    assertEquals(Set.of("epoch=2-step=200", "epoch=4-step=400", "epoch=5-step=500"), folders());
  }

  @Test
  void retainTopTwoWithoutKeepLastDropsTheNewest() throws IOException {
    saveFive();
    store.retain(2, "val_loss", "min", false);
    assertEquals(List.of(200L, 400L), steps(store.list()));
    assertEquals(Set.of("epoch=2-step=200", "epoch=4-step=400"), folders());
  }

  @Test
  void retainTopTwoByMaxMetric() {
    saveFive();
    store.retain(2, "val_acc", "max", true);
    assertEquals(List.of(200L, 400L, 500L), steps(store.list()));
    store.retain(1, "val_acc", "max", false);
    assertEquals(List.of(400L), steps(store.list()));
  }

  @Test
  void retainZeroKeepsOnlyTheNewestAndMinusOneKeepsAll() throws IOException {
    saveFive();
    assertEquals(List.of(), store.retain(-1, "val_loss", "min", false));
    assertEquals(6, store.list().size());
    store.retain(0, "val_loss", "min", true);
    assertEquals(List.of(500L), steps(store.list()));
    assertEquals(Set.of("epoch=5-step=500"), folders());
    store.retain(0, null, null, false);
    assertEquals(List.of(), store.list());
    assertEquals(Set.of(), folders());
    assertThrows(TextSparkException.class, () -> store.retain(-2, "val_loss", "min", true));
  }

  @Test
  void retainWithoutMonitorKeepsTheNewest() {
    saveFive();
    store.retain(2, null, null, true);
    assertEquals(List.of(400L, 500L), steps(store.list()));
  }

  @Test
  void retainIgnoresFoldersThatAreNotCheckpoints() throws IOException {
    saveFive();
    java.nio.file.Path unfinished = root.resolve("epoch=9-step=900");
    Files.createDirectories(unfinished);
    Files.write(unfinished.resolve("model.safetensors"), new byte[3]);
    store.retain(1, "val_loss", "min", true);
    assertEquals(List.of(400L, 500L), steps(store.list()));
    assertTrue(folders().contains("epoch=9-step=900"), "not a checkpoint, so not the store's to delete");
  }

  @Test
  void readerPollingDuringWritesOnlySeesCheckpointsThatVerify() throws Exception {
    int count = 6;
    int weightBytes = 3 << 20;
    Map<Long, String> expectedSha = new HashMap<>();
    for (long step = 1; step <= count; step++) {
      expectedSha.put(step, Download.sha256Hex(CheckpointTest.random(step, weightBytes)));
    }
    AtomicBoolean writerDone = new AtomicBoolean();
    AtomicReference<Throwable> readerFailure = new AtomicReference<>();
    AtomicInteger polls = new AtomicInteger();
    Set<String> verified = ConcurrentHashMap.newKeySet();

    Thread reader = new Thread(() -> {
      try {
        boolean last = false;
        while (!last) {
          // One more pass after the writer finished, so the final state is checked too.
          last = writerDone.get();
          polls.incrementAndGet();
          for (Checkpoint c : store.list()) {
            if (verified.contains(c.name())) {
              continue;
            }
            c.verify();
            try (InputStream in = c.open("model.safetensors")) {
              assertEquals(expectedSha.get(c.globalStep()), Download.sha256Hex(in.readAllBytes()), c.name());
            }
            verified.add(c.name());
          }
        }
      } catch (Throwable t) {
        readerFailure.set(t);
      }
    });
    reader.start();
    List<Long> written = new ArrayList<>();
    try {
      for (long step = 1; step <= count; step++) {
        byte[] weights = CheckpointTest.random(step, weightBytes);
        store.write(Checkpoints.name(0, step), CheckpointMetadata.of(0, step, Map.of("val_loss", 1.0 / step)),
            List.of(CheckpointFile.of("model.safetensors", out -> {
              // Small chunks keep the file partly written for longer, widening the race window.
              for (int off = 0; off < weights.length; off += 64 * 1024) {
                out.write(weights, off, Math.min(64 * 1024, weights.length - off));
              }
            }), CheckpointFile.ofBytes("optimizer.safetensors", CheckpointTest.random(-step, 200_000))));
        written.add(step);
      }
    } finally {
      writerDone.set(true);
      reader.join(120_000);
    }
    assertFalse(reader.isAlive());
    if (readerFailure.get() != null) {
      throw new AssertionError("reader saw a bad checkpoint", readerFailure.get());
    }
    assertTrue(polls.get() > count, "the reader polled while writing (" + polls.get() + " polls)");
    assertEquals(new HashSet<>(List.of("epoch=0-step=1", "epoch=0-step=2", "epoch=0-step=3",
        "epoch=0-step=4", "epoch=0-step=5", "epoch=0-step=6")), verified);
    assertEquals(written, steps(store.list()));
  }
}
