package io.textspark.console;

import java.util.Locale;

/**
 * The library's output, through the JVM's current {@link Reporter} (the console unless an
 * application installs another). Library code calls {@link #info} and {@link #warn} and never
 * {@code System.out} itself.
 */
public final class Console {
  private static volatile Reporter current = Reporter.console();

  private Console() {}

  /** Undoes a {@link #use(Reporter)} when closed. */
  public interface Restore extends AutoCloseable {
    @Override
    void close();
  }

  /** Sends the library's output to {@code reporter} until the returned handle is closed. */
  public static Restore use(Reporter reporter) {
    Reporter previous = current;
    current = reporter;
    return () -> current = previous;
  }

  /** The reporter output goes to now. */
  public static Reporter reporter() {
    return current;
  }

  /** Reports a progress or status line. */
  public static void info(String line) {
    current.info(line);
  }

  /** Reports a progress line made with {@link String#format} (locale-independent numbers). */
  public static void info(String format, Object... args) {
    current.info(String.format(Locale.ROOT, format, args));
  }

  /** Reports a warning. */
  public static void warn(String line) {
    current.warn(line);
  }

  /** Reports a warning made with {@link String#format} (locale-independent numbers). */
  public static void warn(String format, Object... args) {
    current.warn(String.format(Locale.ROOT, format, args));
  }
}
