package io.textspark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.config.TextSparkConfig;
import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench-serve} on the small fixed model: the server's side of the table, and a missing Python. */
class ServeBenchmarkTest {
  @TempDir Path dir;

  @Test
  void timesEveryConcurrencyLevelWithoutErrors() throws Exception {
    Path checkpoint = TinyModel.checkpoint(dir.resolve("run"), 11);
    TextSparkConfig config = TextSparkConfig.withOverrides("score.model=" + checkpoint, "score.device=cpu",
        "bench.serve.requests=30", "bench.serve.concurrency=1,4", "bench.serve.flask=false");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    List<ServeBenchmark.Level> levels = ServeBenchmark.run(config, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(2, levels.size(), out);
    assertEquals(List.of(1, 4), levels.stream().map(ServeBenchmark.Level::concurrency).toList());
    for (ServeBenchmark.Level l : levels) {
      assertEquals(30, l.requests());
      assertEquals(0, l.errors(), out);
      assertTrue(l.throughput() > 0 && l.p50Millis() > 0 && l.p99Millis() >= l.p50Millis(), out);
    }
    assertTrue(out.contains("| 4 | "), out);
  }

  @Test
  void aMissingInterpreterSaysWhatToInstall() {
    Path checkpoint = TinyModel.checkpoint(dir.resolve("run"), 11);
    TextSparkConfig config = TextSparkConfig.withOverrides("score.model=" + checkpoint, "score.device=cpu",
        "bench.serve.requests=5", "bench.serve.concurrency=1", "bench.train.python=/no/such/python3");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> ServeBenchmark.run(config, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
    assertTrue(e.getMessage().contains("python3-flask"), e.getMessage());
  }
}
