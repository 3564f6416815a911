package io.textspark.train;

import io.textspark.fs.Download;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process memory figures for progress lines: resident set size (native included) and heap in use. */
public final class MemoryStats {
  private MemoryStats() {}

  /** Resident set size in bytes from {@code /proc/self/status}, or -1 where there is none. */
  public static long rssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** Heap in use in bytes. */
  public static long heapBytes() {
    Runtime r = Runtime.getRuntime();
    return r.totalMemory() - r.freeMemory();
  }

  /** Resident set size, human readable. */
  public static String rss() {
    long v = rssBytes();
    return v < 0 ? "n/a" : Download.human(v);
  }

  /** Heap in use, human readable. */
  public static String heapUsed() {
    return Download.human(heapBytes());
  }
}
