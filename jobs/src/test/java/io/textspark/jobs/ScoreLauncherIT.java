package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code predict} and {@code score} through {@code jobs/bin/textspark} on the packaged jar. */
class ScoreLauncherIT {
  @TempDir Path tmp;

  private String launch(int expectedCode, String... args) throws IOException, InterruptedException {
    Launcher.Result r = Launcher.run(tmp, "1g", Map.of("HF_ENDPOINT", Shared.hubEndpoint(), "TEXTSPARK_CACHE",
        tmp.resolve("cache").toString()), Duration.ofMinutes(5), List.of(args));
    assertEquals(expectedCode, r.code(), r.output());
    return r.output();
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
