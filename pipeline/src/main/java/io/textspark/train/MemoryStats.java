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
    return status("VmRSS:");
  }

  /**
   * The highest resident set size in bytes since the process started or since {@link #resetPeak()},
   * or -1 where there is none: the figure to compare with another process's {@code ru_maxrss}.
   */
  public static long peakRssBytes() {
    return status("VmHWM:");
  }

  /**
   * Starts {@link #peakRssBytes()} afresh from the current resident size (Linux's
   * {@code /proc/self/clear_refs}), so one phase of a process can be measured on its own; returns
   * false where that is not possible, and the peak then still covers the earlier phases.
   */
  public static boolean resetPeak() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static long status(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field)) {
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
