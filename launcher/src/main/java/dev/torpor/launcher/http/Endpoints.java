package dev.torpor.launcher.http;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.IdempotencyKey;
import dev.torpor.scheduler.SignalReceipt;
import dev.torpor.scheduler.SubmitResult;
import dev.torpor.scheduler.WorkflowState;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** The handlers of {@code /v1}: each checks its input, calls the control plane once, and shapes the answer. */
final class Endpoints {
  static final int DEFAULT_LIST_LIMIT = 100;
  static final int MAX_LIST_LIMIT = 1000;
  static final int DEFAULT_LOG_CHUNK = 1 << 20;
  static final int MAX_LOG_CHUNK = 8 << 20;
  /** The header under which a client names one signal request, the same on each of its retries. */
  static final String IDEMPOTENCY_KEY = "Idempotency-Key";

  private final ControlPlane cp;
  private final Images images;
  private final long maxAppBytes;

  Endpoints(ControlPlane cp, Images images, long maxAppBytes) {
    this.cp = cp;
    this.images = images;
    this.maxAppBytes = maxAppBytes;
  }

  Router router() {
    return new Router()
        .add("GET", "/v1/health", this::health)
        .add("POST", "/v1/apps", this::storeApp)
        .add("POST", "/v1/workflows", this::submit)
        .add("GET", "/v1/workflows", this::list)
        .add("GET", "/v1/workflows/{id}", this::status)
        .add("GET", "/v1/workflows/{id}/history", this::history)
        .add("GET", "/v1/workflows/{id}/logs", this::logs)
        .add("POST", "/v1/workflows/{id}/signals/{name}", this::signal)
        .add("POST", "/v1/workflows/{id}/cancel", this::cancel)
        .add("POST", "/v1/workflows/{id}/wake", this::wake)
        .add("POST", "/v1/images/gc", this::collectImages);
  }

  private Response health(Request r) {
    r.query();
    return Response.json(200, Map.of("status", "ok"));
  }

  private Response storeApp(Request r) throws IOException {
    r.query();
    r.requireContentType("a jar", "application/java-archive", "application/x-java-archive");
    long declared = r.declaredLength();
    if (declared > maxAppBytes) {
      throw appTooLarge(declared);
    }
    BufferedInputStream in = new BufferedInputStream(new LimitedInputStream(r.body(), maxAppBytes), 8192);
    checkZipMagic(in);
    String sha;
    try {
      sha = cp.storeApp(in);
    } catch (LimitedInputStream.TooLargeException e) {
      throw appTooLarge(-1);
    } catch (IOException e) {
      if (e.getCause() instanceof LimitedInputStream.TooLargeException) {
        throw appTooLarge(-1);
      }
      throw e;
    }
    return Response.json(200, Map.of("sha256", sha));
  }

  private HttpError appTooLarge(long declared) {
    return new HttpError(413, "the application jar is " + (declared >= 0 ? declared + " bytes" : "larger than that")
        + "; the limit is " + maxAppBytes + " bytes (" + (maxAppBytes >> 20) + " MiB): ship large data separately");
  }

  /** Refuses a body that is not a zip (a jar) before the control plane sees it. */
  private static void checkZipMagic(InputStream in) throws IOException {
    in.mark(4);
    byte[] head = in.readNBytes(4);
    in.reset();
    if (head.length == 0) {
      throw new IllegalArgumentException("the request body is empty: send the application jar's bytes");
    }
    if (head.length < 4 || head[0] != 'P' || head[1] != 'K' || !(head[2] == 3 && head[3] == 4 || head[2] == 5 && head[3] == 6)) {
      throw new IllegalArgumentException("the request body is not a jar (zip) file: send the application jar's bytes");
    }
  }

  private Response submit(Request r) throws IOException {
    r.query();
    SubmitResult result = cp.submit(r.json(SubmitBody.class).toRequest());
    Response resp = Response.json(result.created() ? 201 : 200, result);
    return result.created() ? resp.withHeaders(Map.of("Location", "/v1/workflows/" + result.id())) : resp;
  }

  private Response list(Request r) {
    Map<String, String> q = r.query("state", "waitingOn", "limit");
    Optional<WorkflowState> state = Optional.ofNullable(q.get("state")).map(Endpoints::state);
    Optional<String> waitingOn = Optional.ofNullable(q.get("waitingOn")).map(Endpoints::waitingOn);
    int limit = q.containsKey("limit") ? (int) number("limit", q.get("limit"), 1, MAX_LIST_LIMIT) : DEFAULT_LIST_LIMIT;
    return Response.json(200, cp.list(state, waitingOn, limit));
  }

  private Response status(Request r) throws IOException {
    r.query();
    WorkflowId id = id(r);
    @SuppressWarnings("unchecked")
    Map<String, Object> view = Json.mapper().convertValue(cp.status(id), LinkedHashMap.class);
    try {
      view.put("images", images.summary(id.value()));
    } catch (IOException | RuntimeException e) {
      // The registry answers even when the image store does not: say so instead of failing.
      view.put("images", null);
      view.put("imagesError", "the image store did not answer: " + e.getMessage());
    }
    return Response.json(200, view);
  }

  private Response collectImages(Request r) throws IOException {
    Map<String, String> q = r.query("dryRun");
    String dry = q.getOrDefault("dryRun", "false").strip();
    if (!dry.equals("true") && !dry.equals("false")) {
      throw new IllegalArgumentException("dryRun must be true or false, got '" + dry + "'");
    }
    return Response.json(200, images.collect(Boolean.parseBoolean(dry)));
  }

  private Response history(Request r) {
    r.query();
    return Response.json(200, cp.history(id(r)));
  }

  private Response logs(Request r) throws IOException {
    Map<String, String> q = r.query("offset", "max");
    WorkflowId id = id(r);
    long offset = q.containsKey("offset") ? number("offset", q.get("offset"), 0, Long.MAX_VALUE) : 0;
    int max = q.containsKey("max") ? (int) number("max", q.get("max"), 1, MAX_LOG_CHUNK) : DEFAULT_LOG_CHUNK;
    ControlPlane.LogChunk chunk = cp.logs(id, offset, max);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("X-Torpor-Next-Offset", Long.toString(chunk.offset() + chunk.data().length));
    headers.put("X-Torpor-Finished", Boolean.toString(chunk.finished()));
    return new Response(200, Response.BYTES, chunk.data(), headers);
  }

  private Response signal(Request r) throws IOException {
    r.query();
    WorkflowId id = id(r);
    SignalName name = SignalName.of(r.param("name"));
    r.requireContentType("the signal's payload bytes", "application/octet-stream", "application/json");
    int limit = ControlPlane.MAX_SIGNAL_PAYLOAD;
    byte[] payload = r.boundedBody(limit, declared -> "the payload of signal '" + name + "' is "
        + (declared >= 0 ? declared + " bytes" : "larger than that") + "; the limit is " + limit
        + " bytes (1 MiB): keep large data elsewhere and send a reference");
    Optional<String> key = Optional.ofNullable(r.header(IDEMPOTENCY_KEY)).map(IdempotencyKey::check);
    SignalReceipt receipt = cp.signal(id, name, payload, key);
    Map<String, Object> answer = ordered("delivered", "queued", "signal", receipt.id());
    answer.put("receivedAt", receipt.receivedAt().toString());
    answer.put("duplicate", receipt.duplicate());
    key.ifPresent(k -> answer.put("idempotencyKey", k));
    return Response.json(202, answer);
  }

  private Response cancel(Request r) {
    r.query();
    WorkflowId id = id(r);
    cp.cancel(id);
    return Response.json(200, ordered("id", id.value(), "cancelled", true));
  }

  private Response wake(Request r) {
    r.query();
    WorkflowId id = id(r);
    cp.wake(id);
    return Response.json(200, ordered("id", id.value(), "woken", true));
  }

  private static WorkflowId id(Request r) {
    return WorkflowId.of(r.param("id"));
  }

  private static Map<String, Object> ordered(String k1, Object v1, String k2, Object v2) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put(k1, v1);
    m.put(k2, v2);
    return m;
  }

  static WorkflowState state(String s) {
    try {
      return WorkflowState.valueOf(s.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown state '" + s + "': use one of "
          + Arrays.stream(WorkflowState.values()).map(Enum::name).collect(Collectors.joining(", ")), e);
    }
  }

  static String waitingOn(String s) {
    String v = s.strip().toUpperCase(Locale.ROOT);
    if (!v.equals("TIMER") && !v.equals("SIGNAL")) {
      throw new IllegalArgumentException("unknown waitingOn '" + s + "': use timer or signal");
    }
    return v;
  }

  static long number(String name, String value, long min, long max) {
    long n;
    try {
      n = Long.parseLong(value.strip());
    } catch (NumberFormatException e) {
      n = Long.MIN_VALUE;
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(name + " must be a whole number from " + min + " to " + max + ", got '" + value + "'");
    }
    return n;
  }
}
