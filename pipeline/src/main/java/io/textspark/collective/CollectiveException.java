package io.textspark.collective;

import io.textspark.TextSparkException;

/**
 * A collective operation could not complete: a peer died, stalled past the timeout, or called a
 * different operation. The message names the rank at fault as far as this worker can tell.
 */
public final class CollectiveException extends TextSparkException {
  private static final long serialVersionUID = 1L;

  private final String rootCause;

  /** A failure this worker detected itself; {@code message} is also what it tells its peers. */
  public CollectiveException(String message) {
    this(message, message, null);
  }

  /** A failure this worker detected itself while doing I/O. */
  public CollectiveException(String message, Throwable cause) {
    this(message, message, cause);
  }

  /**
   * A failure reported to this worker: {@code message} says how it learned of it and
   * {@code rootCause} is the first detector's own message, passed on unchanged around the ring.
   */
  CollectiveException(String message, String rootCause, Throwable cause) {
    super(message, cause);
    this.rootCause = rootCause;
  }

  /** The message of the worker that first detected the failure, which is the one to act on. */
  public String rootCause() {
    return rootCause;
  }
}
