package io.textspark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's packages import only downwards: no two top-level packages ({@code io.textspark.X},
 * sub-packages counted with their parent) depend on each other, directly or through others, and a
 * model family's package uses no other family's. Read from the sources, so a new upward import
 * fails here with the path that closes the cycle.
 */
class LayeringTest {
  private static final Path SOURCES = Path.of("src/main/java/io/textspark");
  private static final Pattern REFERENCE = Pattern.compile("\\bio\\.textspark\\.([a-z][a-z0-9_]*)((?:\\.[a-z][a-z0-9_]*)*)\\.[A-Z]");

  /** Top-level package (e.g. "train") to the top-level packages its sources name. */
  private static Map<String, Set<String>> graph(boolean families) {
    Map<String, Set<String>> g = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Path rel = SOURCES.relativize(f.getParent());
        if (rel.getNameCount() == 0 || rel.toString().isEmpty()) {
          continue; // io.textspark itself: TextSparkException, below everything
        }
        String from = families ? rel.toString().replace('/', '.') : rel.getName(0).toString();
        String code = stripComments(Files.readString(f, StandardCharsets.UTF_8));
        Matcher m = REFERENCE.matcher(code);
        Set<String> to = g.computeIfAbsent(from, k -> new TreeSet<>());
        while (m.find()) {
          String target = families ? m.group(1) + m.group(2) : m.group(1);
          if (!target.equals(from)) {
            to.add(target);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return g;
  }

  private static String stripComments(String code) {
    return code.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
  }

  @Test
  void packagesImportOnlyDownwards() {
    Map<String, Set<String>> g = graph(false);
    assertTrue(g.keySet().containsAll(List.of("train", "model", "inference", "score", "batch", "metrics")), g.toString());
    List<String> cycles = new ArrayList<>();
    for (String start : g.keySet()) {
      for (String next : g.get(start)) {
        List<String> path = pathTo(g, next, start, new TreeSet<>());
        if (path != null) {
          cycles.add(start + " -> " + String.join(" -> ", path));
        }
      }
    }
    assertEquals(List.of(), cycles, "import cycles between packages");
  }

  @Test
  void aModelFamilyUsesNoOtherFamily() {
    Map<String, Set<String>> g = graph(true);
    List<String> crossings = new ArrayList<>();
    g.forEach((from, to) -> {
      if (from.startsWith("model.")) {
        to.stream().filter(t -> t.startsWith("model.") && !t.equals(from)).forEach(t -> crossings.add(from + " -> " + t));
      }
    });
    assertEquals(List.of(), crossings);
  }

  /** A path from {@code from} to {@code target} (both included), or null. */
  private static List<String> pathTo(Map<String, Set<String>> g, String from, String target, Set<String> seen) {
    if (from.equals(target)) {
      return new ArrayList<>(List.of(target));
    }
    if (!seen.add(from)) {
      return null;
    }
    for (String next : g.getOrDefault(from, Set.of())) {
      List<String> rest = pathTo(g, next, target, seen);
      if (rest != null) {
        rest.add(0, from);
        return rest;
      }
    }
    return null;
  }
}
