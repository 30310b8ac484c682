package dev.torpor.launcher.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.torpor.scheduler.ConflictException;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.NotFoundException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP API in front of a {@link ControlPlane}, on the JDK's HTTP server. Every answer is JSON
 * except the log bytes; every error is {@code {"error": "..."}} with a message saying what was
 * wrong and what to do. A rejected request changes nothing: input is checked before the control
 * plane is called.
 *
 * <pre>
 *   GET  /v1/health                            200 {"status":"ok"}
 *   POST /v1/apps                    jar bytes 200 {"sha256":"..."}             (over 512 MiB: 413)
 *   POST /v1/workflows               JSON      201 {"id","created":true} | 200 {"id","created":false}
 *   GET  /v1/workflows?state=&amp;waitingOn=timer|signal&amp;limit=   200 [WorkflowView...] (waits without stacks)
 *   GET  /v1/workflows/{id}                    200 WorkflowView
 *   GET  /v1/workflows/{id}/history            200 [HistoryEvent...]
 *   GET  /v1/workflows/{id}/logs?offset=&amp;max=  200 bytes; X-Torpor-Next-Offset, X-Torpor-Finished
 *   POST /v1/workflows/{id}/signals/{name}     202 {"delivered":"queued","signal","receivedAt","duplicate"}
 *                                              (over 1 MiB: 413; optional header Idempotency-Key: a retry
 *                                              under the same key stores nothing and answers the same,
 *                                              "duplicate":true; another signal under it: 409)
 *   POST /v1/workflows/{id}/cancel             200 {"id","cancelled":true}
 *   POST /v1/workflows/{id}/wake               200 {"id","woken":true}
 * </pre>
 *
 * <p>Statuses: 400 bad input (IllegalArgumentException, bad JSON), 401 no or wrong bearer token,
 * 403 a request from a web page or for another host name,
 * 404 unknown workflow or path, 405 wrong method (with {@code Allow}), 409 conflict with the
 * workflow's state, 413 body too large, 415 a JSON body with another Content-Type, 500 anything
 * else (the stack trace goes to the server's stderr, never to the client).
 *
 * <p>Security ({@link RequestGate}): every request, loopback included, must carry the bearer token
 * ({@code Authorization: Bearer <token>}); a request from a web page ({@code Origin}) or for
 * another host name ({@code Host}) is refused with 403; JSON bodies must say {@code
 * application/json}, jars {@code application/java-archive}, signal payloads {@code
 * application/octet-stream} (415 otherwise). A non-loopback address needs TLS, unless the operator
 * explicitly chose plain HTTP.
 */
public final class HttpApi implements AutoCloseable {
  /** The largest application jar accepted. */
  public static final long MAX_APP_BYTES = 512L << 20;

  private static final int THREADS = 16;
  private static final int QUEUE = 256;
  /** Threads that answer 503 to exchanges the full pool turns away. */
  private static final int OVERFLOW_THREADS = 4;
  /** Set on an overflow thread: the exchange it runs is answered 503 without reading its body. */
  private static final ThreadLocal<Boolean> TURNED_AWAY = ThreadLocal.withInitial(() -> false);

  static {
    // The JDK's server waits for ever for a request's headers unless told otherwise (seconds).
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "30");
    }
  }

  private final Router router;
  private final InetSocketAddress bind;
  private final ApiAccess access;
  private final PrintStream log;
  private RequestGate gate;
  private final AtomicInteger inFlight = new AtomicInteger();
  private HttpServer server;
  private ThreadPoolExecutor pool;
  private ThreadPoolExecutor overflow;
  private final int threads;
  private final int queue;

  /**
   * @throws IllegalArgumentException if {@code bind} is not a loopback address and {@code access}
   *     has no TLS (and does not explicitly allow plain HTTP everywhere)
   */
  public HttpApi(ControlPlane cp, Images images, InetSocketAddress bind, ApiAccess access) {
    this(cp, images, bind, access, MAX_APP_BYTES, System.err);
  }

  HttpApi(ControlPlane cp, Images images, InetSocketAddress bind, ApiAccess access, long maxAppBytes, PrintStream log) {
    this(cp, images, bind, access, maxAppBytes, log, THREADS, QUEUE);
  }

  /** With {@code threads} handler threads and {@code queue} exchanges waiting for one (tests make them small). */
  HttpApi(ControlPlane cp, Images images, InetSocketAddress bind, ApiAccess access, long maxAppBytes, PrintStream log,
      int threads, int queue) {
    this(new Endpoints(Objects.requireNonNull(cp, "cp"), images, maxAppBytes).router(), bind, access, log, threads, queue);
  }

  /**
   * A listener that serves {@code GET /metrics} alone ({@code torpor worker --metrics-listen}), with
   * the same token, checks and limits as the API.
   */
  public static HttpApi metricsOnly(InetSocketAddress bind, ApiAccess access, java.util.function.Supplier<String> scrape) {
    return new HttpApi(new Router(), bind, access, System.err, 2, 4).metrics(scrape);
  }

  private HttpApi(Router router, InetSocketAddress bind, ApiAccess access, PrintStream log, int threads, int queue) {
    this.threads = threads;
    this.queue = queue;
    Objects.requireNonNull(bind, "bind");
    Objects.requireNonNull(access, "access");
    if (bind.isUnresolved()) {
      throw new IllegalArgumentException("cannot bind to " + bind.getHostString() + ": the name does not resolve");
    }
    if (!bind.getAddress().isLoopbackAddress() && access.tls().isEmpty() && !access.plainHttpAnywhere()) {
      throw new IllegalArgumentException("listening on " + bind.getAddress().getHostAddress() + ":" + bind.getPort()
          + " would send the API token over the network in clear: give --tls-cert and --tls-key (PEM), or listen on"
          + " 127.0.0.1 (or, behind your own TLS proxy, pass --allow-plain-http)");
    }
    this.router = router;
    this.bind = bind;
    this.access = access;
    this.log = log;
  }

  /**
   * Serves {@code scrape} (Prometheus's text format) at {@code GET /metrics}, behind the same
   * token as the rest of the API; call before {@link #start()}.
   */
  public HttpApi metrics(java.util.function.Supplier<String> scrape) {
    router.add("GET", "/metrics", r -> {
      r.query();
      return new Response(200, "text/plain; version=0.0.4; charset=utf-8",
          scrape.get().getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of());
    });
    return this;
  }

  /** Binds and starts serving. */
  public synchronized HttpApi start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("the HTTP API is already started");
    }
    AtomicInteger n = new AtomicInteger();
    // Past the overflow's threads an exchange is dropped (its client sees the connection close).
    overflow = new ThreadPoolExecutor(OVERFLOW_THREADS, OVERFLOW_THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1),
        r -> daemon(() -> {
          TURNED_AWAY.set(true);
          r.run();
        }, "torpor-http-busy-" + n.incrementAndGet()), (r, e) -> log.println("torpor: HTTP API overloaded: a connection was dropped"));
    overflow.allowCoreThreadTimeOut(true);
    // Bounded: handlers and waiting exchanges. Past that an exchange is answered 503 by the
    // overflow's threads: never run on the accepting thread, where one slow client (its headers or
    // its body trickling in) would stop the whole API.
    pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queue),
        r -> daemon(r, "torpor-http-" + n.incrementAndGet()), (r, e) -> overflow.execute(r));
    pool.allowCoreThreadTimeOut(true);
    HttpServer s;
    if (access.tls().isPresent()) {
      HttpsServer https = HttpsServer.create(bind, 64);
      https.setHttpsConfigurator(new HttpsConfigurator(access.tls().get()));
      s = https;
    } else {
      s = HttpServer.create(bind, 64);
    }
    gate = new RequestGate(access, new InetSocketAddress(bind.getAddress(), s.getAddress().getPort()));
    s.setExecutor(pool);
    s.createContext("/", this::handle);
    s.start();
    server = s;
    return this;
  }

  /** For tests: the exchanges running or waiting in the pool and those being turned away. */
  synchronized int exchangesTaken() {
    return pool.getActiveCount() + pool.getQueue().size() + overflow.getActiveCount();
  }

  /** The bound port (useful after binding port 0). */
  public synchronized int port() {
    if (server == null) {
      throw new IllegalStateException("the HTTP API is not started");
    }
    return server.getAddress().getPort();
  }

  /** Stops accepting, lets requests in progress finish (up to 5 s), and stops. */
  @Override
  public synchronized void close() {
    if (server == null) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    synchronized (inFlight) {
      while (inFlight.get() > 0 && System.nanoTime() < deadline) {
        try {
          inFlight.wait(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    server.stop(0);
    overflow.shutdownNow();
    pool.shutdown();
    try {
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server = null;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private void handle(HttpExchange ex) {
    inFlight.incrementAndGet();
    try {
      if (TURNED_AWAY.get()) {
        send(ex, Response.error(503, "the server is busy: every request thread is taken; try again in a moment",
            Map.of("Retry-After", "1", "Connection", "close")));
        return;
      }
      send(ex, answer(ex));
    } finally {
      ex.close();
      synchronized (inFlight) {
        inFlight.decrementAndGet();
        inFlight.notifyAll();
      }
    }
  }

  private Response answer(HttpExchange ex) {
    String method = ex.getRequestMethod();
    String path = ex.getRequestURI().getRawPath();
    try {
      gate.checkBrowser(ex.getRequestHeaders());
      if (gate.isPreflight(method, ex.getRequestHeaders())) {
        return new Response(204, Response.JSON, new byte[0], Map.of("Access-Control-Allow-Methods", "GET, POST",
            "Access-Control-Allow-Headers", "Authorization, Content-Type", "Access-Control-Max-Age", "600"));
      }
      gate.checkToken(ex.getRequestHeaders());
      Router.Match m = router.match(method, PathCodec.segments(path), path);
      return m.handler().handle(new Request(ex, m.params()));
    } catch (HttpError e) {
      return Response.error(e.status(), e.getMessage(), e.headers());
    } catch (IllegalArgumentException e) {
      return Response.error(400, messageOr(e, "bad request"), Map.of());
    } catch (NotFoundException e) {
      return Response.error(404, messageOr(e, "not found"), Map.of());
    } catch (ConflictException e) {
      return Response.error(409, messageOr(e, "conflict"), Map.of());
    } catch (Exception e) {
      synchronized (log) {
        log.println("torpor: internal error answering " + method + " " + path + ":");
        e.printStackTrace(log);
      }
      return Response.error(500, "internal server error answering " + method + " " + path
          + ": the server's log has the details", Map.of());
    }
  }

  private static String messageOr(Exception e, String fallback) {
    return e.getMessage() == null || e.getMessage().isBlank() ? fallback : e.getMessage();
  }

  private void send(HttpExchange ex, Response r) {
    try {
      ex.getResponseHeaders().set("Content-Type", r.contentType());
      gate.cors(ex.getRequestHeaders()).forEach((k, v) -> ex.getResponseHeaders().set(k, v));
      r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
      byte[] body = r.body();
      boolean head = "HEAD".equals(ex.getRequestMethod());
      ex.sendResponseHeaders(r.status(), body.length == 0 || head ? -1 : body.length);
      if (body.length > 0 && !head) {
        try (OutputStream os = ex.getResponseBody()) {
          os.write(body);
        }
      }
    } catch (IOException e) {
      // The client went away: nothing to answer, and nothing the server must remember.
      log.println("torpor: could not answer " + ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath()
          + " (the client is gone?): " + e.getMessage());
    }
  }
}
