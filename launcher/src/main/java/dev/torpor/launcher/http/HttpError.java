package dev.torpor.launcher.http;

import java.util.Map;

/** A request the API refuses with a given status; the message goes to the client as is. */
final class HttpError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final transient Map<String, String> headers;

  HttpError(int status, String message) {
    this(status, message, Map.of());
  }

  HttpError(int status, String message, Map<String, String> headers) {
    super(message);
    this.status = status;
    this.headers = Map.copyOf(headers);
  }

  int status() {
    return status;
  }

  Map<String, String> headers() {
    return headers;
  }
}
