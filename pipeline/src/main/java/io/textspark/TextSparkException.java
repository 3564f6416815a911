package io.textspark;

/**
 * An error the user can fix: its message names the problem and the fix, and the command-line
 * entry point prints it as one paragraph and exits non-zero instead of printing a stack trace.
 */
public class TextSparkException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an error whose message says what went wrong and how to fix it. */
  public TextSparkException(String message) {
    super(message);
  }

  /** Creates an error whose message says what went wrong and how to fix it, keeping the cause. */
  public TextSparkException(String message, Throwable cause) {
    super(message, cause);
  }
}
