package dev.torpor.launcher.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** One request as a handler sees it: path parameters, query parameters, and a bounded body. */
final class Request {
  /** The largest JSON request body read. */
  static final int MAX_JSON_BODY = 1 << 20;

  private final HttpExchange exchange;
  private final Map<String, String> pathParams;
  private final Map<String, String> query;

  Request(HttpExchange exchange, Map<String, String> pathParams) {
    this.exchange = exchange;
    this.pathParams = Map.copyOf(pathParams);
    this.query = parseQuery(exchange.getRequestURI().getRawQuery());
  }

  String method() {
    return exchange.getRequestMethod();
  }

  String path() {
    return exchange.getRequestURI().getRawPath();
  }

  String param(String name) {
    return pathParams.get(name);
  }

  /**
   * The value of header {@code name}, or null when absent.
   *
   * @throws IllegalArgumentException if it was sent more than once
   */
  String header(String name) {
    List<String> values = exchange.getRequestHeaders().get(name);
    if (values == null || values.isEmpty()) {
      return null;
    }
    if (values.size() > 1) {
      throw new IllegalArgumentException("the " + name + " header was sent " + values.size() + " times: send it once");
    }
    return values.get(0);
  }

  /** The query parameters, after refusing any not in {@code allowed}. */
  Map<String, String> query(String... allowed) {
    Set<String> known = Set.of(allowed);
    for (String k : query.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("unknown query parameter '" + k + "' for " + method() + " " + path()
            + (allowed.length == 0 ? ": it takes none" : ": use " + String.join(", ", new TreeSet<>(known))));
      }
    }
    return query;
  }

  /** The declared body length, or -1 when the client did not send one (chunked). */
  long declaredLength() {
    String cl = exchange.getRequestHeaders().getFirst("Content-Length");
    if (cl == null) {
      return -1;
    }
    try {
      return Long.parseLong(cl.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("the Content-Length header '" + cl + "' is not a number", e);
    }
  }

  /** The raw body stream. */
  InputStream body() {
    return exchange.getRequestBody();
  }

  /**
   * The body, of at most {@code limit} bytes: never reads more than {@code limit + 1}.
   *
   * @param tooLarge the 413 message, given the declared size or -1
   */
  byte[] boundedBody(int limit, java.util.function.LongFunction<String> tooLarge) throws IOException {
    long declared = declaredLength();
    if (declared > limit) {
      throw new HttpError(413, tooLarge.apply(declared));
    }
    byte[] data = body().readNBytes(limit + 1);
    if (data.length > limit) {
      throw new HttpError(413, tooLarge.apply(-1));
    }
    return data;
  }

  /**
   * Refuses (415) a body whose {@code Content-Type} is missing or not one of {@code types}: the
   * types a browser may send cross-site without asking first (text/plain, forms) are never among them.
   */
  void requireContentType(String what, String... types) {
    String ct = exchange.getRequestHeaders().getFirst("Content-Type");
    String mediaType = ct == null ? "" : ct.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    if (!List.of(types).contains(mediaType)) {
      throw new HttpError(415, "the body of " + method() + " " + path() + " must be " + what + ": send Content-Type: "
          + types[0] + (ct == null ? " (the request has none)" : ", not '" + ct + "'"));
    }
  }

  /** The body as JSON of type {@code type}; 415, 413 or 400 with a short message naming the problem. */
  <T> T json(Class<T> type) throws IOException {
    requireContentType("JSON", "application/json");
    byte[] data = boundedBody(MAX_JSON_BODY, n -> "the JSON body is larger than " + MAX_JSON_BODY + " bytes (1 MiB)");
    if (data.length == 0 || new String(data, StandardCharsets.UTF_8).isBlank()) {
      throw new IllegalArgumentException("the request body is empty: send a JSON object");
    }
    try {
      return Json.mapper().readValue(data, type);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(describe(e), e);
    }
  }

  /** One line saying what is wrong with a JSON body, without Jackson's class names or source excerpts. */
  static String describe(JsonProcessingException e) {
    if (e instanceof UnrecognizedPropertyException u) {
      List<String> known = u.getKnownPropertyIds() == null ? List.of()
          : u.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
      return "unknown field '" + u.getPropertyName() + "' in the JSON body" + (known.isEmpty() ? "" : ": known fields are " + String.join(", ", known));
    }
    if (e instanceof JsonParseException) {
      var loc = e.getLocation();
      return "malformed JSON" + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr())
          + ": " + firstLine(e.getOriginalMessage());
    }
    if (e instanceof MismatchedInputException m) {
      String field = fieldPath(m);
      if (field.isEmpty()) {
        return String.valueOf(m.getOriginalMessage()).startsWith("Trailing token")
            ? "the JSON body must be one JSON object with nothing after it"
            : "the JSON body must be a JSON object, such as {\"app\": \"<sha256>\", \"main\": \"com.acme.Main\"}";
      }
      return "field '" + field + "' has the wrong type" + expected(m);
    }
    if (e instanceof JsonMappingException m && !fieldPath(m).isEmpty()) {
      return "field '" + fieldPath(m) + "' is invalid: " + firstLine(m.getOriginalMessage());
    }
    return "invalid JSON body: " + firstLine(e.getOriginalMessage());
  }

  private static String expected(MismatchedInputException m) {
    Class<?> t = m.getTargetType();
    if (t == null) {
      return "";
    }
    if (List.class.isAssignableFrom(t)) {
      return ": give an array of strings";
    }
    if (t == String.class) {
      return ": give a string";
    }
    return "";
  }

  private static String fieldPath(JsonMappingException m) {
    return m.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining(".")).replace(".[", "[");
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    // Jackson names Java types in backquotes; the client has no use for them.
    String line = s.lines().findFirst().orElse("").replaceAll(" ?\\(?(bound as |of type )?`[^`]*`\\)?", "").strip();
    return line.length() > 200 ? line.substring(0, 200) + "..." : line;
  }

  private static Map<String, String> parseQuery(String raw) {
    Map<String, String> q = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return q;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      if (q.put(k, v) != null) {
        throw new IllegalArgumentException("query parameter '" + k + "' is given twice: give it once");
      }
    }
    return q;
  }
}
