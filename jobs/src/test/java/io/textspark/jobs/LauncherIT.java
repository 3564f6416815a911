package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code jobs/bin/textspark} as a separate process on the packaged jar, as the README does. */
class LauncherIT {
  @TempDir Path tmp;

  record Result(int code, String output) {}

  private Result launch(String... args) throws IOException, InterruptedException {
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
    return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  @Test
  void runsBothDataStagesEndToEnd() throws Exception {
    Result download = launch("download", "data.url=" + Shared.colaZip().toUri());
    assertEquals(0, download.code(), download.output());
    assertTrue(download.output().contains("train 8551 rows, validation 1043 rows"), download.output());

    Result tokenize = launch("tokenize", "--master", "local[2]");
    assertEquals(0, tokenize.code(), tokenize.output());
    assertTrue(tokenize.output().contains("train 8551 rows, validation 1043 rows"), tokenize.output());
    assertTrue(Files.isRegularFile(tmp.resolve("data/cola/tokenized/_textspark.json")));

    Result again = launch("download", "data.url=" + Shared.colaZip().toUri());
    assertEquals(0, again.code(), again.output());
    assertTrue(again.output().contains("nothing to do"), again.output());
  }

  @Test
  void failuresExitNonZeroWithTheMessageAndWriteNothing() throws Exception {
    Result refused = launch("download", "data.url=http://127.0.0.1:9/cola.zip", "data.root=out");
    assertEquals(1, refused.code(), refused.output());
    assertTrue(refused.output().contains("error: cannot reach http://127.0.0.1:9/cola.zip"), refused.output());
    assertEquals(List.of(), Files2.tree(tmp.resolve("out")));

    Result badKey = launch("tokenize", "tokenize.max_lenght=64");
    assertEquals(2, badKey.code(), badKey.output());
    assertTrue(badKey.output().contains("unknown configuration key tokenize.max_lenght"), badKey.output());
  }
}
