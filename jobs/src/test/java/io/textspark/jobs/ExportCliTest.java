package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The export command as the command line runs it: flags, output and exit codes. */
class ExportCliTest {
  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;

  /** Exit code, stdout and stderr of one command. */
  record Run(int code, String out, String err) {}

  @BeforeAll
  static void fixtures() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 47);
  }

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    PrintStream captured = new PrintStream(out, true, StandardCharsets.UTF_8);
    System.setOut(captured);
    int code;
    try {
      code = TextSpark.execute(args, captured, new PrintStream(err, true, StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
    }
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void exportsFp32AndInt8FromFlags() {
    Run fp32 = run("export", "--model", checkpoint.toString(), "--output", tmp.resolve("fp32").toString());
    assertEquals(0, fp32.code(), fp32.err());
    assertTrue(fp32.out().contains("export: wrote ") && fp32.out().contains("(fp32, opset 17)"), fp32.out());
    Run int8 = run("export", "--model", checkpoint.toString(), "--output", tmp.resolve("int8").toString(),
        "--quantize", "int8");
    assertEquals(0, int8.code(), int8.err());
    assertTrue(int8.out().contains("(int8, per-token activations, opset 17)"), int8.out());
    assertTrue(Files.isRegularFile(tmp.resolve("int8/model.onnx")));
  }

  @Test
  void refusalsExitNonZeroWithOneParagraph() throws Exception {
    Path taken = Files.createDirectories(tmp.resolve("taken"));
    Run exists = run("export", "--model", checkpoint.toString(), "--output", taken.toString());
    assertEquals(TextSpark.EXIT_FAILED, exists.code());
    assertTrue(exists.err().startsWith("error: the output ") && exists.err().contains("--overwrite"), exists.err());
    assertFalse(exists.err().contains("\tat "), "no stack trace: " + exists.err());

    Run noOutput = run("export", "--model", checkpoint.toString());
    assertEquals(TextSpark.EXIT_USAGE, noOutput.code());
    assertTrue(noOutput.err().contains("export.output"), noOutput.err());

    Run badQuantize = run("export", "--model", checkpoint.toString(), "--output", tmp.resolve("q").toString(),
        "--quantize", "fp16");
    assertEquals(TextSpark.EXIT_USAGE, badQuantize.code());
    assertTrue(badQuantize.err().contains("export.quantize"), badQuantize.err());
    assertFalse(Files.exists(tmp.resolve("q")));
  }

  @Test
  void helpListsTheFlagsAndKeys() {
    Run help = run("export", "--help");
    assertEquals(0, help.code());
    for (String s : new String[] {"--model", "--output", "--quantize", "--overwrite", "export.reduce_range",
        "export.verify"}) {
      assertTrue(help.out().contains(s), s + " in " + help.out());
    }
    assertTrue(run("--help").out().contains("export "), "listed among the commands");
  }
}
