package io.textspark.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.console.Console;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Runs the plain-PyTorch baseline ({@code bench/pytorch_bert.py}) as a child process and collects
 * the JSON records it prints, one per line; its standard error goes to ours.
 */
public final class PythonBaseline {
  /** glibc's setting for the size above which blocks are mapped and unmapped on every allocation. */
  public static final String MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_";
  /** glibc's setting for how much free memory is kept instead of returned to the kernel. */
  public static final String TRIM_THRESHOLD = "MALLOC_TRIM_THRESHOLD_";
  /** glibc's setting for how many arenas (pools that each keep their own free blocks) threads share. */
  public static final String ARENA_MAX = "MALLOC_ARENA_MAX";

  private PythonBaseline() {}

  /**
   * Runs {@code python script args...}; with tunedAllocator the child gets the allocator settings
   * textspark's launcher uses, otherwise glibc's defaults. Each record is also handed to onRecord
   * as it arrives, for progress output.
   */
  public static List<JsonObject> run(String python, String script, List<String> args, boolean tunedAllocator,
      Consumer<JsonObject> onRecord) {
    List<String> command = new ArrayList<>(List.of(python, script));
    command.addAll(args);
    Console.info("bench: " + (tunedAllocator ? MMAP_THRESHOLD + "=1073741824 " + TRIM_THRESHOLD + "=268435456 "
        + ARENA_MAX + "=2 " : "") + String.join(" ", command));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    if (tunedAllocator) {
      builder.environment().put(MMAP_THRESHOLD, "1073741824");
      builder.environment().put(TRIM_THRESHOLD, "268435456");
      builder.environment().put(ARENA_MAX, "2");
    } else {
      builder.environment().remove(MMAP_THRESHOLD);
      builder.environment().remove(TRIM_THRESHOLD);
      builder.environment().remove(ARENA_MAX);
    }
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new TextSparkException("cannot start " + python + ": " + e.getMessage() + ". Install Debian's"
          + " python3-torch and libopenblas0-openmp, or set bench.train.python to an interpreter that has torch.", e);
    }
    List<JsonObject> records = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        JsonObject record = JsonParser.parseString(line).getAsJsonObject();
        records.add(record);
        onRecord.accept(record);
      }
      int code = process.waitFor();
      if (code != 0) {
        throw new TextSparkException("the PyTorch baseline exited with code " + code + "; see its error above.");
      }
    } catch (IOException e) {
      throw new TextSparkException("cannot read the PyTorch baseline's output: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TextSparkException("interrupted while the PyTorch baseline ran", e);
    } finally {
      process.destroyForcibly();
    }
    return records;
  }

  /** The event name of a record, empty when it has none. */
  public static String event(JsonObject record) {
    return record.has("event") ? record.get("event").getAsString() : "";
  }

  /** The last record with the given event name. */
  public static JsonObject last(List<JsonObject> records, String event) {
    for (int i = records.size() - 1; i >= 0; i--) {
      if (event.equals(event(records.get(i)))) {
        return records.get(i);
      }
    }
    throw new TextSparkException(String.format(Locale.ROOT, "the PyTorch baseline printed no \"%s\" record.", event));
  }
}
