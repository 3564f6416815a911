package io.textspark.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.fs.Download;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();
  private java.nio.file.Path root;
  private CheckpointStore store;

  @BeforeEach
  void setUp() {
    root = tmp.resolve("run/checkpoints");
    store = new CheckpointStore(new Path(root.toUri()), conf);
  }

  static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private Checkpoint save(long step, byte[] weights) {
    JsonObject trainerState = new JsonObject();
    trainerState.addProperty("global_step", step);
    return store.write(Checkpoints.name(1, step), CheckpointMetadata.of(1, step, Map.of("val_loss", 0.5)),
        List.of(CheckpointFile.ofBytes("model.safetensors", weights),
            CheckpointFile.ofBytes("config.json", "{\"hidden_size\":8}".getBytes(StandardCharsets.UTF_8)),
            CheckpointFile.ofJson("trainer_state.json", trainerState)));
  }

  /**
   * Replaces a file behind Hadoop's back and drops its .crc, as on object stores without
   * client-side checksums, so that only the manifest can notice the change.
   */
  private static void damage(java.nio.file.Path file, byte[] content) throws IOException {
    Files.write(file, content);
    Files.deleteIfExists(file.resolveSibling("." + file.getFileName() + ".crc"));
  }

  private static List<Long> steps(List<Checkpoint> checkpoints) {
    return checkpoints.stream().map(Checkpoint::globalStep).collect(Collectors.toList());
  }

  private List<String> entries(java.nio.file.Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<java.nio.file.Path> s = Files.list(dir)) {
      // Hadoop's local file system keeps a hidden .<name>.crc beside every file; they are not ours.
      // The writer's marker is in every checkpoint folder; the tests that need it look for it.
      return s.map(p -> p.getFileName().toString())
          .filter(n -> !n.endsWith(".crc") && !n.equals(Checkpoints.WRITER_MARKER)).sorted()
          .collect(Collectors.toList());
    }
  }

  @Test
  void roundTripKeepsBytesAndRecordsIndependentlyComputedSizesAndHashes() throws IOException {
    byte[] weights = random(1, 300_000);
    JsonObject extra = new JsonObject();
    extra.addProperty("seed", 42);
    Map<String, Double> metrics = Map.of("val_loss", 0.25, "val_acc", 0.8, "diverged", Double.NaN);
    Checkpoint written = store.write("epoch=2-step=268", new CheckpointMetadata(2, 268, metrics, extra),
        List.of(CheckpointFile.of("model.safetensors", out -> {
          // Several writes, as a real streaming serializer does.
          out.write(weights, 0, 1000);
          out.write(weights[1000]);
          out.write(weights, 1001, weights.length - 1001);
        }), CheckpointFile.ofBytes("config.json", "{}".getBytes(StandardCharsets.UTF_8))));

    java.nio.file.Path folder = root.resolve("epoch=2-step=268");
    assertEquals(List.of("config.json", "manifest.json", "model.safetensors"), entries(folder));
    assertArrayEquals(weights, Files.readAllBytes(folder.resolve("model.safetensors")));
    assertEquals(List.of("epoch=2-step=268"), entries(root), "no staging folder remains");

    JsonObject manifest =
        JsonParser.parseString(Files.readString(folder.resolve("manifest.json"))).getAsJsonObject();
    JsonArray files = manifest.getAsJsonArray("files");
    assertEquals(2, files.size());
    for (JsonElement e : files) {
      JsonObject f = e.getAsJsonObject();
      byte[] onDisk = Files.readAllBytes(folder.resolve(f.get("name").getAsString()));
      assertEquals(onDisk.length, f.get("size").getAsLong());
      assertEquals(Download.sha256Hex(onDisk), f.get("sha256").getAsString());
    }
    assertEquals("model.safetensors", files.get(0).getAsJsonObject().get("name").getAsString(), "order kept");

    Checkpoint read = Checkpoint.read(new Path(folder.toUri()), conf).orElseThrow();
    assertEquals(written.path(), read.path());
    assertEquals("epoch=2-step=268", read.name());
    assertEquals(268, read.globalStep());
    assertEquals(2, read.epoch());
    assertEquals(0.25, read.metrics().get("val_loss"));
    assertTrue(read.metrics().get("diverged").isNaN());
    assertEquals(42, read.metadata().extra().get("seed").getAsInt());
    assertEquals(written.files(), read.files());
    try (InputStream in = read.open("model.safetensors")) {
      assertArrayEquals(weights, in.readAllBytes());
    }
    read.verify();
    assertThrows(TextSparkException.class, () -> read.open("optimizer.safetensors"));
  }

  @Test
  void crashMidwayLeavesNothingThatCountsAndNoStagingFolder() {
    save(100, random(2, 1000));
    TextSparkException e = assertThrows(TextSparkException.class, () -> store.write("epoch=1-step=200",
        CheckpointMetadata.of(1, 200, Map.of()),
        List.of(CheckpointFile.ofBytes("model.safetensors", random(3, 5000)),
            CheckpointFile.of("optimizer.safetensors", out -> {
              out.write(random(4, 700));
              throw new IOException("disk full");
            }),
            CheckpointFile.ofBytes("trainer_state.json", new byte[] {'{', '}'}))));
    assertTrue(e.getMessage().contains("optimizer.safetensors") && e.getMessage().contains("disk full"),
        e.getMessage());

    assertEquals(List.of("epoch=1-step=100"), entriesOf(root), "only the older checkpoint is left");
    assertFalse(Checkpoint.read(new Path(root.resolve("epoch=1-step=200").toUri()), conf).isPresent());
    assertEquals(List.of(100L), steps(store.list()));
    assertEquals(100, store.resolve("last").globalStep());
  }

  @Test
  void crashOnEmptyStoreLeavesNoCheckpointForLast() {
    assertThrows(IllegalStateException.class, () -> store.write("epoch=0-step=1",
        CheckpointMetadata.of(0, 1, Map.of()),
        List.of(CheckpointFile.of("model.safetensors", out -> {
          out.write(new byte[10]);
          throw new IllegalStateException("serializer bug");
        }))));
    assertEquals(List.of(), entriesOf(root));
    assertTrue(store.list().isEmpty());
    TextSparkException e = assertThrows(TextSparkException.class, () -> store.resolve("last"));
    assertTrue(e.getMessage().contains("'last'"), e.getMessage());
  }

  private List<String> entriesOf(java.nio.file.Path dir) {
    try {
      return entries(dir);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void foldersWithoutAValidManifestAreNotCheckpoints() throws IOException {
    save(100, random(5, 2000));
    // Higher steps than the valid one, so a reader that counted them would pick them as last.
    java.nio.file.Path noManifest = root.resolve("epoch=1-step=200");
    Files.createDirectories(noManifest);
    Files.write(noManifest.resolve("model.safetensors"), random(6, 100));
    Checkpoint missing = save(300, random(7, 2000));
    Files.delete(root.resolve(missing.name()).resolve("config.json"));
    Checkpoint truncated = save(400, random(8, 2000));
    try (FileChannel ch = FileChannel.open(root.resolve(truncated.name()).resolve("model.safetensors"),
        StandardOpenOption.WRITE)) {
      ch.truncate(1500);
    }
    Checkpoint garbled = save(500, random(9, 2000));
    damage(root.resolve(garbled.name()).resolve("manifest.json"),
        "{\"format\":1,\"files\":[".getBytes(StandardCharsets.UTF_8));

    assertEquals(List.of(100L), steps(store.list()));
    assertEquals(100, store.last().orElseThrow().globalStep());
    assertEquals(100, store.best("val_loss", "min").orElseThrow().globalStep());
    for (String name : List.of("epoch=1-step=200", "epoch=1-step=300", "epoch=1-step=400",
        "epoch=1-step=500")) {
      assertFalse(Checkpoint.read(new Path(root.resolve(name).toUri()), conf).isPresent(), name);
    }
    assertResolveFails("epoch=1-step=200", "no manifest.json");
    assertResolveFails("epoch=1-step=300", "lacks config.json");
    assertResolveFails(root.resolve("epoch=1-step=400").toUri().toString(),
        "has 1500 bytes but the manifest says 2000");
    assertResolveFails(root.resolve("epoch=1-step=500").toString(), "is not a JSON object");
    assertResolveFails("epoch=9-step=9", "does not exist");
  }

  private void assertResolveFails(String ref, String why) {
    TextSparkException e = assertThrows(TextSparkException.class, () -> store.resolve(ref));
    assertTrue(e.getMessage().contains("'" + ref + "'") && e.getMessage().contains(why), e.getMessage());
  }

  @Test
  void corruptedByteOfSameSizeIsDetectedByVerifyAndByReadingTheStream() throws IOException {
    byte[] weights = random(10, 100_000);
    Checkpoint c = save(100, weights);
    java.nio.file.Path file = root.resolve(c.name()).resolve("model.safetensors");
    byte[] bad = weights.clone();
    bad[54_321] ^= 0x40;
    damage(file, bad);

    Checkpoint read = Checkpoint.read(c.path(), conf).orElseThrow();
    TextSparkException e = assertThrows(TextSparkException.class, read::verify);
    String msg = e.getMessage();
    assertTrue(msg.contains(file.getFileName().toString()), msg);
    assertTrue(msg.contains(Download.sha256Hex(weights)) && msg.contains(Download.sha256Hex(bad)), msg);

    try (InputStream in = read.open("model.safetensors")) {
      TextSparkException e2 = assertThrows(TextSparkException.class, in::readAllBytes);
      assertTrue(e2.getMessage().contains("model.safetensors"), e2.getMessage());
    }
    try (InputStream in = read.open("config.json")) {
      assertEquals("{\"hidden_size\":8}", new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void corruptionIsAlsoReportedWhenHadoopsOwnChecksumCatchesItFirst() throws IOException {
    byte[] weights = random(17, 10_000);
    Checkpoint c = save(100, weights);
    byte[] bad = weights.clone();
    bad[5] ^= 1;
    // The .crc stays, so the local file system's own checksum fails before the SHA-256 is compared.
    Files.write(root.resolve(c.name()).resolve("model.safetensors"), bad);
    TextSparkException e = assertThrows(TextSparkException.class, c::verify);
    assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
  }

  @Test
  void fileChangedInSizeAfterReadingIsRejectedByOpen() throws IOException {
    Checkpoint c = save(100, random(11, 4000));
    damage(root.resolve(c.name()).resolve("model.safetensors"), random(12, 3000));
    TextSparkException e = assertThrows(TextSparkException.class, () -> c.open("model.safetensors"));
    assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("3000")
        && e.getMessage().contains("4000"), e.getMessage());
  }

  @Test
  void committedCheckpointIsNeverOverwrittenButAnUnfinishedFolderIsReplaced() throws IOException {
    byte[] first = random(13, 500);
    save(100, first);
    TextSparkException e = assertThrows(TextSparkException.class, () -> save(100, random(14, 500)));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    assertArrayEquals(first, Files.readAllBytes(root.resolve("epoch=1-step=100/model.safetensors")));
    assertEquals(List.of("epoch=1-step=100"), entries(root));

    java.nio.file.Path leftover = root.resolve("epoch=1-step=200");
    Files.createDirectories(leftover);
    Files.write(leftover.resolve("stale.bin"), new byte[10]);
    byte[] second = random(15, 500);
    save(200, second).verify();
    assertEquals(List.of("config.json", "manifest.json", "model.safetensors", "trainer_state.json"),
        entries(leftover));
    assertArrayEquals(second, Files.readAllBytes(leftover.resolve("model.safetensors")));
  }

  @Test
  void badNamesAreRefusedBeforeAnythingIsWritten() throws IOException {
    CheckpointMetadata m = CheckpointMetadata.of(0, 0, Map.of());
    List<CheckpointFile> ok = List.of(CheckpointFile.ofBytes("a.bin", new byte[1]));
    for (String name : List.of("", "last", "../x", ".hidden", "a:b")) {
      assertThrows(TextSparkException.class, () -> store.write(name, m, ok), name);
    }
    for (String file : List.of("manifest.json", "sub/x.bin", ".x")) {
      assertThrows(TextSparkException.class,
          () -> store.write("epoch=0-step=0", m, List.of(CheckpointFile.ofBytes(file, new byte[1]))), file);
    }
    assertThrows(TextSparkException.class, () -> store.write("epoch=0-step=0", m,
        List.of(CheckpointFile.ofBytes("a.bin", new byte[1]), CheckpointFile.ofBytes("a.bin", new byte[2]))));
    assertEquals(List.of(), entries(root));
  }

  @Test
  void cleanupStagingRemovesOnlyLeftoversOfCrashedWriters() throws IOException {
    Checkpoint kept = save(100, random(16, 100));
    java.nio.file.Path staging = root.resolve(".epoch=1-step=200.tmp-" + UUID.randomUUID());
    Files.createDirectories(staging);
    Files.write(staging.resolve("model.safetensors"), new byte[100]);
    Files.createDirectories(root.resolve(".not-staging"));

    assertEquals(List.of(kept.path()),
        store.list().stream().map(Checkpoint::path).collect(Collectors.toList()));
    List<Path> removed = store.cleanupStaging();
    assertEquals(1, removed.size());
    assertEquals(List.of(".not-staging", "epoch=1-step=100"), entries(root));
    kept.verify();
  }

  @Test
  void everyCheckpointFolderStartsWithTheWritersMarker() throws IOException {
    Checkpoint c = save(100, random(17, 100));
    java.nio.file.Path folder = root.resolve(c.name());
    assertTrue(Files.isRegularFile(folder.resolve(Checkpoints.WRITER_MARKER)));
    assertTrue(Checkpoint.isCheckpointFolder(c.path(), conf));
    assertFalse(Checkpoint.isCheckpointFolder(new Path(tmp.toUri()), conf));
  }

  @Test
  void anUnfinishedFolderLeftByAnInPlaceWriterIsCleanedUpButADamagedCommittedOneIsKept() throws IOException {
    Checkpoint kept = save(100, random(18, 100));
    Checkpoint damaged = save(150, random(19, 100));
    Files.delete(root.resolve(damaged.name()).resolve("config.json"));
    // What a writer on an object store leaves when killed between files: marker, some files, no manifest.
    java.nio.file.Path unfinished = root.resolve("epoch=1-step=200");
    Files.createDirectories(unfinished);
    Files.writeString(unfinished.resolve(Checkpoints.WRITER_MARKER), "{}");
    Files.write(unfinished.resolve("model.safetensors"), new byte[100]);
    java.nio.file.Path foreign = root.resolve("notes");
    Files.createDirectories(foreign);

    assertEquals(List.of(100L), steps(store.list()));
    assertEquals(List.of("epoch=1-step=200"),
        store.cleanupStaging().stream().map(Path::getName).collect(Collectors.toList()));
    assertEquals(List.of("epoch=1-step=100", "epoch=1-step=150", "notes"), entries(root));
    kept.verify();
  }
}
