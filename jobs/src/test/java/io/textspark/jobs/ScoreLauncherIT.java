package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code predict} and {@code score} through {@code jobs/bin/textspark} on the packaged jar. */
class ScoreLauncherIT {
  @TempDir Path tmp;

  private String launch(int expectedCode, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("bin", "textspark").toAbsolutePath().toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true);
    pb.environment().remove("SPARK_HOME");
    pb.environment().put("HF_ENDPOINT", Shared.hubEndpoint());
    pb.environment().put("TEXTSPARK_CACHE", tmp.resolve("cache").toString());
    pb.environment().put("TEXTSPARK_DRIVER_MEMORY", "1g");
    Path log = tmp.resolve("launcher-" + System.nanoTime() + ".log");
    pb.redirectOutput(log.toFile());
    Process p = pb.start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("the launcher did not finish in 5 minutes");
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(expectedCode, p.exitValue(), output);
    return output;
  }

  @Test
  void predictAndScoreRunFromTheLauncher() throws Exception {
    Path model = TinyModel.checkpoint(tmp.resolve("run"), TinyModel.constantHead(61));
    String predicted = launch(0, "predict", "--model", model.toString(), "The book was written by John.");
    assertTrue(predicted.contains("acceptable    0.7500  <- prediction"), predicted);

    launch(0, "download", "data.url=" + Shared.colaZip().toUri());
    String scored = launch(0, "score", "--master", "local[2]", "--input", "data/cola/raw/validation", "--output",
        "scored", "--text-col", "sentence", "--model", model.toString());
    assertTrue(scored.contains("1043 rows, 1043 scored"), scored);
    assertTrue(Files.isRegularFile(tmp.resolve("scored/_textspark.json")));

    String refused = launch(1, "score", "--input", "data/cola/raw/validation", "--output", "scored",
        "--text-col", "sentence", "--model", model.toString());
    assertTrue(refused.contains("already exists"), refused);
    assertTrue(Files2.tree(tmp).stream().noneMatch(f -> f.contains(".staging-")), "no staging folder left");
  }
}
