package dev.torpor.launcher.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.launcher.http.Json;
import dev.torpor.scheduler.ControlPlane;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.net.ssl.SSLException;
import dev.torpor.launcher.internal.Pem;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A small client of the HTTP API (see {@link dev.torpor.launcher.http.HttpApi}). A refusal or a
 * server that cannot be reached becomes a {@link Failure} carrying the exit code and a message
 * that says what to do.
 */
final class ApiClient {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /**
   * Longer than the server's own wait for its database ({@link ControlPlane#DATABASE_OUTAGE_WINDOW},
   * 90 s): during a PostgreSQL restart the server retries a request's transaction for that long
   * and may still commit it, so a client that gave up sooner would report a failure for a request
   * that took effect, and its retry would race the server's own.
   */
  static final Duration REQUEST_TIMEOUT = ControlPlane.DATABASE_OUTAGE_WINDOW.plusSeconds(30);
  /** How often an idempotent request is sent at most, when its answer is lost. */
  static final int IDEMPOTENT_ATTEMPTS = 3;

  /** A request that failed: the message for stderr and the exit code of {@code torpor}. */
  static final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final boolean retryable;

    Failure(int exitCode, String message) {
      this(exitCode, message, false);
    }

    Failure(int exitCode, String message, boolean retryable) {
      super(message);
      this.exitCode = exitCode;
      this.retryable = retryable;
    }

    int exitCode() {
      return exitCode;
    }

    /** Whether the request's answer was lost (it may or may not have taken effect), rather than refused. */
    boolean retryable() {
      return retryable;
    }
  }

  /** A successful (2xx) answer. */
  record Reply(int status, byte[] body, HttpHeaders headers) {
    JsonNode json() {
      try {
        return Json.mapper().readTree(body);
      } catch (IOException e) {
        throw new Failure(ExitCodes.FAILURE, "the server's answer is not JSON: " + e.getMessage());
      }
    }

    <T> T as(Class<T> type) {
      try {
        return Json.mapper().readerFor(type)
            .without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .readValue(body);
      } catch (IOException e) {
        throw new Failure(ExitCodes.FAILURE, "the server's answer is not a " + type.getSimpleName() + ": " + e.getMessage());
      }
    }

    <T> T as(com.fasterxml.jackson.core.type.TypeReference<T> type) {
      try {
        return Json.mapper().readerFor(type)
            .without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .readValue(body);
      } catch (IOException e) {
        throw new Failure(ExitCodes.FAILURE, "the server's answer is not what torpor expects: " + e.getMessage());
      }
    }
  }

  private final String server;
  private final URI base;
  private final ApiToken.Found token;
  private final HttpClient http;
  /** The first pause before an idempotent request is sent again; doubled each time. */
  Duration retryBackoff = Duration.ofSeconds(1);

  private ApiClient(String server, URI base, ApiToken.Found token, Path caFile) {
    this.server = server;
    this.base = base;
    this.token = token;
    HttpClient.Builder b = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    if (caFile != null) {
      b.sslContext(Pem.trusting(caFile));
    }
    this.http = b.build();
  }

  /** A client of the server at {@code server} with a plain token (tests, scripts). */
  static ApiClient of(String server, String token) {
    return of(server, token == null || token.isBlank() ? new ApiToken.Found(null, "no token was given")
        : new ApiToken.Found(token.strip(), "the command line"), null);
  }

  /**
   * A client of the server at {@code server}, sending {@code token} (if found) and trusting the
   * certificates of {@code caFile} (if given) for https; IllegalArgumentException unless {@code
   * server} is an http(s) URL.
   */
  static ApiClient of(String server, ApiToken.Found token, Path caFile) {
    String s = server == null ? "" : server.strip();
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    URI uri;
    try {
      uri = new URI(s);
    } catch (URISyntaxException e) {
      uri = null;
    }
    if (uri == null || uri.getScheme() == null || !(uri.getScheme().equalsIgnoreCase("http") || uri.getScheme().equalsIgnoreCase("https"))
        || uri.getHost() == null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException("--server must be an http:// or https:// URL such as http://127.0.0.1:7777, not '"
          + server + "'");
    }
    return new ApiClient(s, uri, token, caFile);
  }

  /** {@code /seg1/seg2...} with each segment percent-encoded. */
  static String path(String... segments) {
    return Arrays.stream(segments).map(ApiClient::encode).collect(Collectors.joining("/", "/", ""));
  }

  /** {@code ?k=v&...} of the non-null values, encoded; empty when none. */
  static String query(Map<String, ?> params) {
    String q = params.entrySet().stream().filter(e -> e.getValue() != null)
        .map(e -> encode(e.getKey()) + "=" + encode(String.valueOf(e.getValue())))
        .collect(Collectors.joining("&"));
    return q.isEmpty() ? "" : "?" + q;
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  Reply get(String pathAndQuery) {
    return send(request(pathAndQuery).GET());
  }

  Reply post(String pathAndQuery, HttpRequest.BodyPublisher body, String contentType) {
    return send(request(pathAndQuery).header("Content-Type", contentType).POST(body));
  }

  /**
   * {@code post} of a request that the server recognises by {@code idempotencyKey}: sent again,
   * under the same key, when its answer is lost (a timeout, a dropped or refused connection, a
   * gateway's 502/503/504), since the server stores it at most once and answers a retry the same.
   */
  Reply postIdempotent(String pathAndQuery, byte[] body, String contentType, String idempotencyKey,
      java.io.PrintWriter err) {
    Duration backoff = retryBackoff;
    for (int attempt = 1; ; attempt++) {
      try {
        return send(request(pathAndQuery).header("Content-Type", contentType).header("Idempotency-Key", idempotencyKey)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
      } catch (Failure f) {
        if (!f.retryable() || attempt >= IDEMPOTENT_ATTEMPTS) {
          throw f;
        }
        err.println("torpor: " + f.getMessage() + "; trying again under the same idempotency key (attempt "
            + (attempt + 1) + " of " + IDEMPOTENT_ATTEMPTS + ")");
        err.flush();
        try {
          Thread.sleep(backoff.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw f;
        }
        backoff = backoff.multipliedBy(2);
      }
    }
  }

  /** {@code post} of a value as JSON. */
  Reply postJson(String pathAndQuery, Object value) {
    byte[] body;
    try {
      body = Json.mapper().writeValueAsBytes(value);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the request as JSON", e);
    }
    return post(pathAndQuery, HttpRequest.BodyPublishers.ofByteArray(body), "application/json");
  }

  private HttpRequest.Builder request(String pathAndQuery) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(REQUEST_TIMEOUT);
    if (token.present()) {
      b.header("Authorization", "Bearer " + token.token());
    }
    return b;
  }

  private Reply send(HttpRequest.Builder builder) {
    HttpRequest req = builder.build();
    HttpResponse<byte[]> r;
    try {
      r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    } catch (SSLException e) {
      throw new Failure(ExitCodes.UNREACHABLE, "no trusted TLS connection to " + server + " (" + e.getMessage() + "): if"
          + " the server's certificate comes from your own CA, pass that CA's certificate with --ca-file (TORPOR_CA_FILE)");
    } catch (IOException e) {
      String unreachable = unreachableReason(e);
      if (unreachable != null) {
        throw new Failure(ExitCodes.UNREACHABLE, "no Torpor server at " + server + " (" + unreachable
            + "): start one with `torpor server`, or point --server/TORPOR_SERVER at it", !"unknown host".equals(unreachable));
      }
      throw new Failure(ExitCodes.FAILURE, req.method() + " " + req.uri().getRawPath() + " on " + server + " failed: "
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure(ExitCodes.FAILURE, "interrupted while waiting for " + server);
    }
    if (r.statusCode() >= 200 && r.statusCode() < 300) {
      return new Reply(r.statusCode(), r.body(), r.headers());
    }
    int status = r.statusCode();
    throw new Failure(exitCodeFor(status), messageFor(status, r.body(), token), status == 502 || status == 503 || status == 504);
  }

  /** Why the server could not be reached at all, or null if the failure came later. */
  static String unreachableReason(IOException e) {
    if (e instanceof HttpConnectTimeoutException) {
      return "connection timed out";
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        return "unknown host";
      }
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ConnectException) {
        String m = t.getMessage();
        return m == null || m.toLowerCase(Locale.ROOT).contains("refused") ? "connection refused" : m;
      }
    }
    return null;
  }

  /** The exit code of {@code torpor} for an HTTP error status. */
  static int exitCodeFor(int status) {
    return switch (status) {
      case 400, 413, 415, 422 -> ExitCodes.USAGE;
      case 401, 403 -> ExitCodes.UNAUTHORIZED;
      case 404, 410 -> ExitCodes.NOT_FOUND;
      case 409 -> ExitCodes.CONFLICT;
      default -> ExitCodes.FAILURE;
    };
  }

  /** The server's {@code error} message, or a line describing an answer that has none. */
  static String messageFor(int status, byte[] body, ApiToken.Found token) {
    if (status == 401) {
      return token.present()
          ? "the server refused the API token from " + token.source() + ": use the token in the server's <data>/"
              + ApiToken.FILE + " (set TORPOR_TOKEN, or --token-file FILE)"
          : "the server wants its API token and torpor has none (" + token.source() + "); the token is in the"
              + " server's <data>/" + ApiToken.FILE + ", readable by the server's user only: ask its operator for it"
              + " and set TORPOR_TOKEN, or pass --token-file FILE";
    }
    String error = errorField(body);
    if (error != null) {
      return error;
    }
    String text = new String(body, StandardCharsets.UTF_8).strip();
    return "the server answered HTTP " + status + (text.isEmpty() ? "" : ": " + (text.length() > 200 ? text.substring(0, 200) + "..." : text));
  }

  /** The {@code error} field of a JSON error body, or null when the body is not one. */
  private static String errorField(byte[] body) {
    JsonNode error;
    try {
      error = Json.mapper().readTree(body).path("error");
    } catch (IOException notJson) {
      return null; // a proxy or another server: the caller describes the raw answer
    }
    return error.isTextual() && !error.asText().isBlank() ? error.asText() : null;
  }
}
