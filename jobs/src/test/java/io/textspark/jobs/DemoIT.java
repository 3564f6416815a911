package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jobs/bin/textspark demo}, the README's first command, end to end with a very short schedule. */
class DemoIT {
  @TempDir Path tmp;

  @Test
  void demoRunsEveryStageWithTwoWorkersAndWritesAnOfflineReport() throws Exception {
    Path root = tmp.resolve("demo");
    Launcher.Result r = Launcher.run(tmp, "3g", Map.of("TEXTSPARK_CACHE", tmp.resolve("cache").toString()),
        Duration.ofMinutes(10), List.of("demo", "demo.root=" + root, "demo.max_steps=12", "demo.val_every_steps=6",
        "demo.sample_rows=20"));
    String out = r.output();
    assertEquals(0, r.code(), out);
    for (int stage = 1; stage <= 7; stage++) {
      assertTrue(out.contains("demo [" + stage + "/7]"), "stage " + stage + " missing:\n" + out);
    }
    assertTrue(out.contains("export: wrote") && out.contains("(int8, per-token activations, opset 17)"), out);
    java.util.regex.Matcher same = java.util.regex.Pattern
        .compile("the int8 export predicts what the checkpoint did on (\\d+) of 20 sample rows").matcher(out);
    assertTrue(same.find(), out);
    assertTrue(Integer.parseInt(same.group(1)) >= 16, "int8 agrees with fp32 on nearly every row: " + same.group());
    assertTrue(out.contains("2 of 3 requests answered 200") && out.contains("-> 400 {\"error\""),
        "the server answered the two good requests and refused the bad one:\n" + out);
    assertTrue(out.contains("rank 1 of 2"), "training ran on two workers:\n" + out);
    assertTrue(out.contains("score: wrote") && out.contains("20 rows, 20 scored"), out);
    assertTrue(out.contains("demo: done"), out);

    Path report = root.resolve("report.html");
    String html = Files.readString(report, StandardCharsets.UTF_8);
    int charts = html.split("<svg ", -1).length - 1;
    assertEquals(3, charts, "loss, validation metrics and confusion matrix");
    assertTrue(html.contains("confusion matrix") && html.contains("<td>overall</td><td>1043</td>"));
    assertFalse(html.contains("<script") || html.contains("<link") || html.contains("src="), "needs no network");
    assertTrue(Files.isRegularFile(root.resolve("scored/_textspark.json")));
    assertTrue(Files.isRegularFile(root.resolve("onnx/model.onnx")));
    assertTrue(Files.isRegularFile(root.resolve("scored-onnx/_textspark.json")));
    assertTrue(Files.isRegularFile(root.resolve("run/summary.json")));
  }
}
