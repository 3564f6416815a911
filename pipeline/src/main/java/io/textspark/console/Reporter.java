package io.textspark.console;

import java.io.PrintStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives the library's progress lines and warnings. The command-line application uses
 * {@link #console()}; a server logs them with {@link #slf4j()}; a notebook may keep the console or
 * go {@link #silent()}. Install one with {@link Console#use(Reporter)}.
 */
public interface Reporter {
  /** A progress or status line, such as {@code epoch 1/3  step 40/804  loss 0.61 ...}. */
  void info(String line);

  /** Something the user should know or act on, such as a skipped update or a slow file system. */
  void warn(String line);

  /**
   * Progress to standard output, warnings to standard error: what a command-line user expects.
   * The streams are looked up at each line, so {@code System.setOut} redirects it too.
   */
  static Reporter console() {
    return new Reporter() {
      @Override
      public void info(String line) {
        System.out.println(line);
      }

      @Override
      public void warn(String line) {
        System.err.println(line);
      }
    };
  }

  /** Progress to {@code out} and warnings to {@code err}. */
  static Reporter streams(PrintStream out, PrintStream err) {
    return new Reporter() {
      @Override
      public void info(String line) {
        out.println(line);
      }

      @Override
      public void warn(String line) {
        err.println(line);
      }
    };
  }

  /** Progress at INFO and warnings at WARN on the slf4j logger {@code io.textspark}, for services. */
  static Reporter slf4j() {
    Logger log = LoggerFactory.getLogger("io.textspark");
    return new Reporter() {
      @Override
      public void info(String line) {
        log.info(line);
      }

      @Override
      public void warn(String line) {
        log.warn(line);
      }
    };
  }

  /** Drops everything. */
  static Reporter silent() {
    return new Reporter() {
      @Override
      public void info(String line) {}

      @Override
      public void warn(String line) {}
    };
  }
}
