package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import jdk.jshell.Diag;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Executes every code cell of every notebook in {@code notebooks/}, in order, in JShell (the engine
 * the IJava and JJava kernels run on) with the project's jars, and fails on the first cell that does
 * not compile or throws. The kernels' {@code %jars} and {@code %classpath} magics are honoured
 * relative to the notebook's folder; {@code display(...)} prints its first argument, as there is no
 * front end to render it. The notebooks fetch CoLA and the model like the stages do, so failsafe
 * points {@code COLA_URL} and {@code HF_ENDPOINT} at the mirrors in {@code ../shared}.
 */
class NotebooksIT {
  private static final Path NOTEBOOKS = Path.of("..", "notebooks").toAbsolutePath().normalize();

  @TempDir Path tmp;

  @TestFactory
  Stream<DynamicTest> everyNotebookRunsTopToBottom() throws IOException {
    List<Path> notebooks = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(NOTEBOOKS, "*.ipynb")) {
      dir.forEach(notebooks::add);
    }
    notebooks.sort(null);
    assertFalse(notebooks.isEmpty(), "no notebooks in " + NOTEBOOKS);
    return notebooks.stream().map(nb -> DynamicTest.dynamicTest(nb.getFileName().toString(), () -> run(nb)));
  }

  private void run(Path notebook) throws IOException {
    JsonObject json = JsonParser.parseString(Files.readString(notebook, StandardCharsets.UTF_8)).getAsJsonObject();
    String kernel = json.getAsJsonObject("metadata").getAsJsonObject("kernelspec").get("name").getAsString();
    assertTrue(kernel.equals("java"), notebook + " is written for kernel " + kernel + ", not java");
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
    List<String> vmOptions = new ArrayList<>(List.of(System.getProperty("textspark.jvm.options", "").trim().split("\\s+")));
    vmOptions.removeIf(String::isEmpty);
    Path data = tmp.resolve(notebook.getFileName().toString().replace(".ipynb", "")).resolve("data");
    vmOptions.addAll(List.of("-Xmx3g", "-Dtextspark.data.root=" + data.toUri(),
        "-Dtextspark.run.root=" + tmp.resolve("runs").toUri()));
    try (JShell shell = JShell.builder().out(out).err(out).remoteVMOptions(vmOptions.toArray(String[]::new))
        .build()) {
      eval(shell, "void display(Object value, String... mimeTypes) { System.out.println(value); }", notebook, 0, out,
          output);
      int index = 0;
      for (JsonElement element : json.getAsJsonArray("cells")) {
        JsonObject cell = element.getAsJsonObject();
        index++;
        if (!"code".equals(cell.get("cell_type").getAsString())) {
          continue;
        }
        String source = source(cell.getAsJsonArray("source"));
        StringBuilder code = new StringBuilder();
        for (String line : source.split("\n", -1)) {
          if (line.startsWith("%%")) {
            fail(notebook.getFileName() + " cell " + index + ": cell magic " + line + " cannot run in CI");
          } else if (line.startsWith("%")) {
            magic(shell, notebook, index, line.trim());
          } else {
            code.append(line).append('\n');
          }
        }
        eval(shell, code.toString(), notebook, index, out, output);
      }
    }
    // Kept in the failsafe report (jobs/target/failsafe-reports/*NotebooksIT-output.txt) for reading.
    System.out.println("==== " + notebook.getFileName() + "\n" + output.toString(StandardCharsets.UTF_8));
  }

  private static String source(JsonArray lines) {
    StringBuilder s = new StringBuilder();
    lines.forEach(l -> s.append(l.getAsString()));
    return s.toString();
  }

  private static void magic(JShell shell, Path notebook, int cell, String line) throws IOException {
    String[] words = line.substring(1).split("\\s+");
    if (!words[0].equals("jars") && !words[0].equals("classpath")) {
      fail(notebook.getFileName() + " cell " + cell + ": magic %" + words[0] + " is not supported in CI (only %jars"
          + " and %classpath); add the jars with %jars instead.");
    }
    for (int i = 1; i < words.length; i++) {
      List<Path> matches = glob(notebook.getParent(), words[i]);
      if (matches.isEmpty()) {
        fail(notebook.getFileName() + " cell " + cell + ": " + line + " matches nothing; build the project first"
            + " (mvn -q -DskipTests install).");
      }
      matches.forEach(p -> shell.addToClasspath(p.toString()));
    }
  }

  /** A path whose last element may hold {@code *}, relative to {@code base}. */
  private static List<Path> glob(Path base, String pattern) throws IOException {
    Path path = base.resolve(pattern).normalize();
    String name = path.getFileName().toString();
    if (!name.contains("*")) {
      return Files.exists(path) ? List.of(path) : List.of();
    }
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(path.getParent(), name)) {
      List<Path> out = new ArrayList<>();
      dir.forEach(out::add);
      out.sort(null);
      return out;
    }
  }

  private static void eval(JShell shell, String code, Path notebook, int cell, PrintStream out,
      ByteArrayOutputStream output) {
    SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
    String remaining = code;
    while (!remaining.isBlank()) {
      SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
      if (!info.completeness().isComplete()) {
        fail(notebook.getFileName() + " cell " + cell + " ends with an incomplete statement: " + remaining.trim());
      }
      for (SnippetEvent event : shell.eval(info.source())) {
        if (event.status() == Snippet.Status.REJECTED) {
          String diagnostics = shell.diagnostics(event.snippet()).map(Diag::toString)
              .map(d -> d.replaceAll("\\s+", " ")).collect(Collectors.joining("; "));
          fail(notebook.getFileName() + " cell " + cell + " does not compile: " + event.snippet().source().trim()
              + "\n" + diagnostics + "\noutput so far:\n" + output.toString(StandardCharsets.UTF_8));
        }
        if (event.exception() != null) {
          out.flush();
          fail(notebook.getFileName() + " cell " + cell + " threw " + event.exception() + " in: "
              + event.snippet().source().trim() + "\noutput so far:\n" + output.toString(StandardCharsets.UTF_8));
        }
      }
      remaining = info.remaining();
    }
  }
}
