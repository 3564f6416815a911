package io.textspark.metrics;

import java.time.Duration;
import java.util.Locale;

/** The time-left figure of progress lines ({@code train}'s ETA, {@code score}'s time left). */
public final class TimeLeft {
  private TimeLeft() {}

  /** {@code seconds} rounded and written as {@code 2m26s}, or {@code 1h05m} from an hour on. */
  public static String format(double seconds) {
    Duration d = Duration.ofSeconds(Math.round(seconds));
    return d.toHours() > 0 ? String.format(Locale.ROOT, "%dh%02dm", d.toHours(), d.toMinutesPart())
        : String.format(Locale.ROOT, "%dm%02ds", d.toMinutesPart(), d.toSecondsPart());
  }
}
