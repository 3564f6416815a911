package io.textspark.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.textspark.testing.FileSystemServers;
import io.textspark.testing.HadoopTree;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Staged outputs on a real HDFS and S3: only S3 counts as an object store; an output replaced again
 * and again is never seen by a reader with a marker whose files are missing or from another
 * version (unless that reader's marker was replaced meanwhile), and no staging folder is left.
 */
class StagedOutputIT {
  @RegisterExtension static final FileSystemServers SERVERS = new FileSystemServers();
  private static final int FILE_BYTES = 256 * 1024;

  private final Configuration conf = SERVERS.conf();

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hdfs", "s3a"})
  void onlyS3IsAnObjectStore(String scheme) throws IOException {
    Path root = new Path(SERVERS.root(scheme, "staged"));
    FileSystem fs = root.getFileSystem(conf);
    assertEquals(scheme.equals("s3a"), HadoopPaths.isObjectStore(fs, root));
    Path local = new Path(java.nio.file.Path.of("target").toAbsolutePath().toUri());
    assertFalse(HadoopPaths.isObjectStore(local.getFileSystem(conf), local));
  }

  private static void publish(Path target, int version, Configuration conf) throws IOException {
    try (StagedOutput out = StagedOutput.begin(target, conf)) {
      FileSystem fs = out.staging().getFileSystem(conf);
      for (String name : List.of("a.bin", "b.bin")) {
        try (OutputStream o = fs.create(new Path(out.staging(), name), false)) {
          byte[] content = new byte[FILE_BYTES];
          Arrays.fill(content, (byte) version);
          o.write(content);
        }
      }
      JsonObject marker = new JsonObject();
      marker.addProperty("version", version);
      out.commit(marker);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hdfs", "s3a"})
  void aReplacedOutputIsNeverSeenWithTheMarkerOfOneVersionAndTheFilesOfAnother(String scheme) throws Exception {
    Path target = new Path(SERVERS.root(scheme, "staged/replaced/out"));
    publish(target, 1, conf);
    AtomicBoolean done = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicInteger consistent = new AtomicInteger();
    Thread reader = new Thread(() -> {
      try {
        while (!done.get()) {
          Optional<JsonObject> marker = StagedOutput.marker(target, conf);
          if (marker.isEmpty()) {
            continue;
          }
          int version = marker.get().get("version").getAsInt();
          try {
            for (String name : List.of("a.bin", "b.bin")) {
              byte[] bytes = HadoopPaths.readBytes(new Path(target, name), conf);
              if (bytes.length != FILE_BYTES || bytes[0] != version || bytes[bytes.length - 1] != version) {
                throw new IOException(name + " is not version " + version);
              }
            }
            consistent.incrementAndGet();
          } catch (IOException e) {
            // Legitimate only when the output was replaced while this reader was reading it.
            Optional<JsonObject> now = StagedOutput.marker(target, conf);
            if (now.isPresent() && now.get().get("version").getAsInt() == version) {
              throw new AssertionError("the marker of version " + version + " stands over other files", e);
            }
          }
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "output-reader");
    reader.start();
    try {
      for (int version = 2; version <= 4; version++) {
        publish(target, version, conf);
      }
    } finally {
      done.set(true);
      reader.join(60_000);
    }
    if (failure.get() != null) {
      throw new AssertionError("a reader saw an inconsistent output", failure.get());
    }
    assertTrue(consistent.get() > 0, "the reader read some version whole");
    assertEquals(4, StagedOutput.marker(target, conf).orElseThrow().get("version").getAsInt());
    assertEquals(List.of("out"), HadoopTree.names(target.getParent(), conf), "no staging folder is left");
    assertEquals(List.of(StagedOutput.MARKER, "a.bin", "b.bin"), HadoopTree.names(target, conf));
  }
}
