package io.textspark.serve;

import com.google.gson.JsonObject;

/**
 * A request the server answers with an error status and a JSON body saying why; {@code limit} names
 * the configuration key of a limit the request broke (null for other errors).
 */
final class ApiError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String limit;
  private final long max;

  ApiError(int status, String message) {
    this(status, message, null, 0);
  }

  ApiError(int status, String message, String limit, long max) {
    super(message, null, false, false);
    this.status = status;
    this.limit = limit;
    this.max = max;
  }

  int status() {
    return status;
  }

  /** {@code {"error": message, "status": status}}, plus {@code "limit"} and {@code "max"} for a limit. */
  JsonObject toJson() {
    JsonObject o = new JsonObject();
    o.addProperty("error", getMessage());
    o.addProperty("status", status);
    if (limit != null) {
      o.addProperty("limit", limit);
      o.addProperty("max", max);
    }
    return o;
  }
}
