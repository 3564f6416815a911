package io.textspark.config;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.List;

/**
 * Settings of the {@code bench-allreduce} command; every default is in {@code conf/textspark.conf}.
 *
 * @param workers ring sizes to measure; default 2 and 4
 * @param floats buffer sizes in floats; default 1 to 22,713,986 (MiniLM-L6 with a 2-label head)
 * @param repeats timed repetitions per size, after one warm-up; default 5
 * @param trainSteps optimizer steps of each short 2-worker CoLA run (accumulate 1 and 4) that
 *     measures all-reduce time as a share of step time, 0 to skip; default 8
 */
public record AllReduceBenchConfig(List<Integer> workers, List<Integer> floats, int repeats, int trainSteps) {
  /** Reads and validates the {@code bench.allreduce} section of {@code raw}. */
  public static AllReduceBenchConfig from(Config raw) {
    Settings s = new Settings(raw, "bench.allreduce");
    return new AllReduceBenchConfig(ints(s, "workers", 1, 64), ints(s, "floats", 1, 256_000_000), s.intIn("repeats", 1, 1000),
        s.intIn("train_steps", 0, 100_000));
  }

  private static List<Integer> ints(Settings s, String name, int min, int max) {
    List<Integer> out = new ArrayList<>();
    for (String part : s.nonEmpty(name).split(",")) {
      int v;
      try {
        v = Integer.parseInt(part.trim());
      } catch (NumberFormatException e) {
        throw new ConfigError(s.key(name), s.string(name), "a comma-separated list of integers is expected");
      }
      if (v < min || v > max) {
        throw new ConfigError(s.key(name), s.string(name), "each value must be from " + min + " to " + max);
      }
      out.add(v);
    }
    return List.copyOf(out);
  }
}
