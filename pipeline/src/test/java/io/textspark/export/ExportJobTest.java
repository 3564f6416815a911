package io.textspark.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.textspark.TextSparkException;
import io.textspark.config.ConfigError;
import io.textspark.config.TextSparkConfig;
import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.TinyModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code export} job as a user meets it: its configuration, what it prints, the ONNX checker's
 * verdict on what it writes, and every refusal leaving nothing behind.
 */
class ExportJobTest {
  @TempDir static Path dir;
  @TempDir Path tmp;
  private static Path checkpoint;

  @BeforeAll
  static void fixtures() {
    checkpoint = TinyModel.checkpoint(dir.resolve("run"), 43);
  }

  private static String run(String... overrides) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExportJob.run(TextSparkConfig.withOverrides(overrides), new PrintStream(out, true, StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void writesTheFolderAndSaysWhatItVerified() throws Exception {
    Path out = tmp.resolve("onnx");
    String printed = run("export.model=" + checkpoint, "export.output=" + out);
    assertTrue(printed.contains("export: wrote "), printed);
    assertTrue(printed.contains("fp32, opset 17"), printed);
    assertTrue(printed.matches("(?s).*verified in ONNX Runtime on \\d+ sentences.*"), printed);
    assertEquals(List.of("_textspark.json", "config.json", "model.onnx", "tokenizer.json"), Files2.list(out));
    assertEquals(List.of("onnx"), Files2.list(tmp), "no staging folder is left");
  }

  @Test
  void int8PrintsItsSizeAgainstFp32AndItsAgreement() {
    Path out = tmp.resolve("int8");
    String printed = run("export.model=" + checkpoint, "export.output=" + out, "export.quantize=int8");
    assertTrue(printed.contains("int8, per-token activations, opset 17"), printed);
    assertTrue(printed.matches("(?s).*model\\.onnx \\S+ \\S+, \\d+\\.\\d% of the fp32 graph's.*"), printed);
    assertTrue(printed.contains("same prediction on"), printed);
  }

  @Test
  void bothGraphsPassTheOnnxCheckersFullCheck() throws Exception {
    assumeTrue(pythonHasOnnx(), "/usr/bin/python3 with the onnx package (Debian python3-onnx) is not installed");
    Path fp32 = tmp.resolve("fp32");
    Path int8 = tmp.resolve("int8");
    run("export.model=" + checkpoint, "export.output=" + fp32);
    run("export.model=" + checkpoint, "export.output=" + int8, "export.quantize=int8");
    for (Path model : List.of(fp32.resolve("model.onnx"), int8.resolve("model.onnx"))) {
      String script = "import onnx, sys\n"
          + "m = onnx.load(sys.argv[1])\n"
          + "onnx.checker.check_model(m, full_check=True)\n"
          + "print('ok', m.ir_version, [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')])\n";
      Process p = new ProcessBuilder("/usr/bin/python3", "-c", script, model.toString()).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), output);
      assertTrue(output.startsWith("ok 8 [17]"), output);
    }
  }

  @Test
  void anExistingOutputIsKeptUnlessOverwriteIsGiven() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("taken"));
    Files.writeString(out.resolve("keep.txt"), "mine");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> run("export.model=" + checkpoint, "export.output=" + out));
    assertTrue(e.getMessage().contains("already exists") && e.getMessage().contains("--overwrite"), e.getMessage());
    assertEquals(List.of("keep.txt"), Files2.list(out));
    run("export.model=" + checkpoint, "export.output=" + out, "export.overwrite=true");
    assertEquals(List.of("_textspark.json", "config.json", "model.onnx", "tokenizer.json"), Files2.list(out));
  }

  @Test
  void anUncommittedCheckpointIsRefusedAndNothingIsWritten() throws Exception {
    Path broken = tmp.resolve("broken");
    Files2.copyTree(checkpoint, broken);
    // The weights are cut short, as when a writer died: the manifest no longer matches them.
    byte[] weights = Files.readAllBytes(broken.resolve("model.safetensors"));
    Files.write(broken.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
    Path out = tmp.resolve("out");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> run("export.model=" + broken, "export.output=" + out));
    assertTrue(e.getMessage().contains(broken.getFileName().toString()), e.getMessage());
    assertEquals(List.of("broken"), Files2.list(tmp), "nothing is written, not even a staging folder");
  }

  @Test
  void aModelWithoutATrainedHeadIsRefused() {
    Path out = tmp.resolve("out");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> run("export.model=" + Shared.miniLm(), "export.output=" + out));
    assertTrue(e.getMessage().contains("classifier"), e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void anUnsupportedFamilyIsRefusedNamingTheSupportedOnes() throws Exception {
    Path model = Files.createDirectories(tmp.resolve("t5"));
    Files.writeString(model.resolve("config.json"), "{\"model_type\": \"t5\", \"d_model\": 32}");
    Path out = tmp.resolve("out");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> run("export.model=" + model, "export.output=" + out));
    assertTrue(e.getMessage().contains("\"t5\"") && e.getMessage().contains("bert"), e.getMessage());
    assertFalse(Files.exists(out));
  }

  @Test
  void configurationMistakesNameTheKey() {
    ConfigError missing = assertThrows(ConfigError.class, () -> run("export.model=" + checkpoint));
    assertTrue(missing.getMessage().contains("export.output") && missing.getMessage().contains("--output"),
        missing.getMessage());
    ConfigError quantize = assertThrows(ConfigError.class,
        () -> run("export.model=" + checkpoint, "export.output=" + tmp.resolve("q"), "export.quantize=int4"));
    assertTrue(quantize.getMessage().contains("export.quantize") && quantize.getMessage().contains("int8"),
        quantize.getMessage());
  }

  private static boolean pythonHasOnnx() {
    try {
      Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import onnx").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
