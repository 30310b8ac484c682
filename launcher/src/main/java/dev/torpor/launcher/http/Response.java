package dev.torpor.launcher.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a handler answers: a status, a content type, a body and extra headers. */
record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
  static final String JSON = "application/json; charset=utf-8";
  static final String BYTES = "application/octet-stream";

  Response {
    headers = Map.copyOf(headers);
  }

  /** {@code value} as JSON with the shared mapper. */
  static Response json(int status, Object value) {
    try {
      return new Response(status, JSON, Json.mapper().writeValueAsBytes(value), Map.of());
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write a " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** The body of every error: {@code {"error": message}}. */
  static Response error(int status, String message, Map<String, String> headers) {
    Map<String, String> body = new LinkedHashMap<>();
    body.put("error", message);
    return json(status, body).withHeaders(headers);
  }

  Response withHeaders(Map<String, String> extra) {
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.putAll(extra);
    return new Response(status, contentType, body, all);
  }
}
