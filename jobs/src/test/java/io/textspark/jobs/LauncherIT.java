package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code jobs/bin/textspark} as a separate process on the packaged jar, as the README does. */
class LauncherIT {
  @TempDir Path tmp;

  private Launcher.Result launch(String... args) throws IOException, InterruptedException {
    return Launcher.run(tmp, "1g", Map.of("HF_ENDPOINT", Shared.hubEndpoint(), "TEXTSPARK_CACHE",
        tmp.resolve("cache").toString()), Duration.ofMinutes(5), List.of(args));
  }

  @Test
  void runsBothDataStagesEndToEnd() throws Exception {
    Launcher.Result download = launch("download", "data.url=" + Shared.colaZip().toUri());
    assertEquals(0, download.code(), download.output());
    assertTrue(download.output().contains("train 8551 rows, validation 1043 rows"), download.output());

    Launcher.Result tokenize = launch("tokenize", "--master", "local[2]");
    assertEquals(0, tokenize.code(), tokenize.output());
    assertTrue(tokenize.output().contains("train 8551 rows, validation 1043 rows"), tokenize.output());
    assertTrue(Files.isRegularFile(tmp.resolve("data/cola/tokenized/_textspark.json")));

    Launcher.Result again = launch("download", "data.url=" + Shared.colaZip().toUri());
    assertEquals(0, again.code(), again.output());
    assertTrue(again.output().contains("nothing to do"), again.output());
  }

  @Test
  void failuresExitNonZeroWithTheMessageAndWriteNothing() throws Exception {
    Launcher.Result refused = launch("download", "data.url=http://127.0.0.1:9/cola.zip", "data.root=out");
    assertEquals(1, refused.code(), refused.output());
    assertTrue(refused.output().contains("error: cannot reach http://127.0.0.1:9/cola.zip"), refused.output());
    assertEquals(List.of(), Files2.tree(tmp.resolve("out")));

    Launcher.Result badKey = launch("tokenize", "tokenize.max_lenght=64");
    assertEquals(2, badKey.code(), badKey.output());
    assertTrue(badKey.output().contains("unknown configuration key tokenize.max_lenght"), badKey.output());
  }
}
