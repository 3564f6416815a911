package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextSparkCliTest {
  @TempDir Path tmp;

  /** Exit code, stdout and stderr of one command. */
  record Run(int code, String out, String err) {}

  @BeforeAll
  static void spark() {
    SharedSpark.get(); // the commands' getOrCreate() then reuses the test session
  }

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = TextSpark.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpListsCommandsAndEveryKeyWithItsDefault() {
    Run top = run("--help");
    assertEquals(0, top.code());
    assertTrue(top.out().contains("download") && top.out().contains("tokenize"), top.out());

    Run help = run("download", "--help");
    assertEquals(0, help.code());
    // The value shown is the effective default ($COLA_URL when set), followed by the key's comment.
    assertTrue(help.out().contains("data.url = "), help.out());
    assertTrue(help.out().contains("Where the CoLA zip comes from"), help.out());
    assertTrue(help.out().contains("data.max_reject_fraction = 0.01"), help.out());
    assertTrue(help.out().contains("--overwrite"), help.out());

    Run train = run("train", "--help");
    assertEquals(0, train.code());
    assertTrue(train.out().contains("tracking.mlflow.uri = ") && train.out().contains("MLflow tracking server"),
        train.out());
  }

  @Test
  void usageErrorsExitWithTwoAndNameTheProblem() {
    Run none = run();
    assertEquals(TextSpark.EXIT_USAGE, none.code());

    Run unknownCommand = run("fly");
    assertEquals(TextSpark.EXIT_USAGE, unknownCommand.code());
    assertTrue(unknownCommand.err().contains("unknown command \"fly\""), unknownCommand.err());

    Run unknownKey = run("download", "data.rot=/tmp/x");
    assertEquals(TextSpark.EXIT_USAGE, unknownKey.code());
    assertTrue(unknownKey.err().contains("unknown configuration key data.rot"), unknownKey.err());
    assertTrue(unknownKey.err().contains("data.root"), "suggests the keys of the section: " + unknownKey.err());

    Run badValue = run("download", "data.max_reject_fraction=2");
    assertEquals(TextSpark.EXIT_USAGE, badValue.code());
    assertTrue(badValue.err().contains("data.max_reject_fraction = 2"), badValue.err());
    assertTrue(badValue.err().contains("0.0 to 1.0"), badValue.err());

    Run badType = run("tokenize", "tokenize.max_length=many");
    assertEquals(TextSpark.EXIT_USAGE, badType.code());
    assertTrue(badType.err().contains("tokenize.max_length"), badType.err());

    Run unknownFlag = run("download", "--fast");
    assertEquals(TextSpark.EXIT_USAGE, unknownFlag.code());
    assertTrue(unknownFlag.err().contains("unknown option --fast"), unknownFlag.err());
  }

  @Test
  void configFilesLayerUnderCommandLineOverrides() throws IOException {
    Path conf = tmp.resolve("my.conf");
    Files.writeString(conf, "data { root = \"" + tmp.resolve("from-file") + "\"\n url = \""
        + Shared.colaZip().toUri() + "\" }\n");
    Run fromFile = run("download", "--conf", conf.toString());
    assertEquals(0, fromFile.code(), fromFile.err());
    assertTrue(Files.isRegularFile(tmp.resolve("from-file/raw/_textspark.json")));

    Run overridden = run("download", "--conf", conf.toString(), "data.root=" + tmp.resolve("from-args"));
    assertEquals(0, overridden.code(), overridden.err());
    assertTrue(Files.isRegularFile(tmp.resolve("from-args/raw/_textspark.json")));

    Path bad = tmp.resolve("bad.conf");
    Files.writeString(bad, "train { epochz = 3 }\n");
    Run badFile = run("download", "--conf", bad.toString());
    assertEquals(TextSpark.EXIT_USAGE, badFile.code());
    assertTrue(badFile.err().contains("unknown configuration key train.epochz"), badFile.err());
    assertTrue(badFile.err().contains(bad.toString()), "names the file: " + badFile.err());
  }

  @Test
  void tuneListsItsKeysAndRefusesABadSpaceBeforeAnyWork() throws IOException {
    Run help = run("tune", "--help");
    assertEquals(0, help.code());
    assertTrue(help.out().contains("tune.reduction_factor = 3") && help.out().contains("--resume"), help.out());

    Path space = tmp.resolve("space.conf");
    Files.writeString(space, "tune.space { \"train.lr\" { uniform = [1e-5, 1e-4] } }\n");
    Path out = tmp.resolve("tune");
    Run grid = run("tune", "--conf", space.toString(), "tune.search=grid", "tune.output_dir=" + out);
    assertEquals(TextSpark.EXIT_USAGE, grid.code(), grid.err());
    assertTrue(grid.err().contains("train.lr") && grid.err().contains("tune.search=random"), grid.err());
    Files.writeString(space, "tune.space { \"train.lr\" { choice = [1e-4, 2] } }\n");
    Run badValue = run("tune", "--conf", space.toString(), "tune.output_dir=" + out);
    assertEquals(TextSpark.EXIT_USAGE, badValue.code(), badValue.err());
    assertTrue(badValue.err().contains("train.lr = 2"), badValue.err());
    assertFalse(Files.exists(out), "nothing written");
  }

  @Test
  void runtimeFailuresExitWithOneAndWriteNothing() {
    Path root = tmp.resolve("data");
    Run missing = run("download", "data.url=file:///nonexistent/cola.zip", "data.root=" + root);
    assertEquals(TextSpark.EXIT_FAILED, missing.code());
    assertTrue(missing.err().contains("no such file"), missing.err());
    assertFalse(missing.err().contains("\tat "), "no stack trace for a user error: " + missing.err());
    assertEquals(List.of(), Files2.tree(root));

    Run noData = run("tokenize", "data.root=" + root);
    assertEquals(TextSpark.EXIT_FAILED, noData.code());
    assertTrue(noData.err().contains("run `textspark download` first"), noData.err());
  }
}
