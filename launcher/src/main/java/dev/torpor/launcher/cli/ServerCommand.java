package dev.torpor.launcher.cli;

import dev.torpor.launcher.http.ApiAccess;
import dev.torpor.launcher.http.HttpApi;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.Pem;
import dev.torpor.launcher.internal.PrivateDirs;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.server.Server;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs the control plane, an embedded worker and the HTTP API until stopped. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Runs Torpor in one process: the control plane (registry, signal mailbox, history and Quartz timers in an",
      "embedded H2 database, or PostgreSQL with --db-url), an embedded worker, the local image store, and the",
      "HTTP API on 127.0.0.1. Survives kill -9: on restart every timer that fell due fires, and workflows that",
      "were running resume from their last image.",
      "Every option can also come from the environment (shown below) or from a properties file named by",
      "TORPOR_CONFIG whose keys are the long option names without dashes (e.g. listen=127.0.0.1:7777)."
    })
public final class ServerCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkerOptions worker;

  @Option(names = "--listen", defaultValue = "${TORPOR_LISTEN:-127.0.0.1:7777}",
      description = "Address and port of the HTTP API (env TORPOR_LISTEN; default: ${DEFAULT-VALUE})."
          + " Any address other than loopback requires --tls-cert and --tls-key.")
  String listen;

  @Option(names = "--token-file", defaultValue = "${TORPOR_TOKEN_FILE}",
      description = "File holding the API token every request must carry (env TORPOR_TOKEN_FILE; the environment"
          + " variable TORPOR_TOKEN may hold the token itself; default: <data>/api-token, made at the first start, 0600).")
  Path tokenFile;

  @Option(names = "--tls-cert", defaultValue = "${TORPOR_TLS_CERT}",
      description = "The API's certificate chain (PEM) for https (env TORPOR_TLS_CERT); with --tls-key.")
  Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${TORPOR_TLS_KEY}",
      description = "The private key of --tls-cert (PEM, PKCS#8, unencrypted; keep it 0600) (env TORPOR_TLS_KEY).")
  Path tlsKey;

  @Option(names = "--allow-origin", paramLabel = "ORIGIN",
      description = "A web origin (https://host[:port]) whose pages may call the API (repeatable; default: none,"
          + " requests from web pages are refused).")
  List<String> allowOrigins = new ArrayList<>();

  @Option(names = "--allow-host", paramLabel = "NAME",
      description = "A host name clients may use for this server besides its addresses, e.g. a load balancer's"
          + " (repeatable).")
  List<String> allowHosts = new ArrayList<>();

  @Option(names = "--allow-plain-http",
      description = "Serve plain HTTP on a non-loopback --listen address (the token then crosses the network in clear):"
          + " only behind a TLS-terminating proxy on the same machine. Warned at every start.")
  boolean allowPlainHttp;

  @Mixin DatabaseOptions database;

  @Option(names = "--no-worker",
      description = "Run no workflow JVMs here: the API and the scheduler of a cluster whose workers are `torpor worker`"
          + " processes sharing the same --db-url (PostgreSQL) and --store.")
  boolean noWorker;

  @Option(names = "--cluster",
      description = "Join a cluster as the API server and as one of its workers (named by --name): other `torpor"
          + " worker` processes share the same --db-url (PostgreSQL) and --store.")
  boolean cluster;

  @Option(names = "--name", defaultValue = "${TORPOR_WORKER_NAME}",
      description = "With --cluster: this worker's name, unique in the cluster (env TORPOR_WORKER_NAME; default:"
          + " the host name and a hash of --data).")
  String name;

  @Option(names = "--max-running", defaultValue = "${TORPOR_MAX_RUNNING:-8}",
      description = "How many workflow JVMs may run at once; suspended workflows take none (env TORPOR_MAX_RUNNING;"
          + " default: ${DEFAULT-VALUE}). Wakes beyond it wait in Quartz.")
  int maxRunning;

  @Option(names = "--image-retention", defaultValue = "${TORPOR_IMAGE_RETENTION:-1d}", converter = DurationConverter.class,
      description = "How long a finished workflow keeps its last image, e.g. 12h, 7d, 0 (env TORPOR_IMAGE_RETENTION;"
          + " default: ${DEFAULT-VALUE}). Older images go at once; a live workflow keeps only its newest.")
  Duration imageRetention;

  @Option(names = "--image-gc-interval", defaultValue = "${TORPOR_IMAGE_GC_INTERVAL:-10m}", converter = DurationConverter.class,
      description = "How often images are collected (env TORPOR_IMAGE_GC_INTERVAL; default: ${DEFAULT-VALUE});"
          + " `torpor images gc` collects now.")
  Duration imageGcInterval;

  @Option(names = "--quiet", description = "Do not print workflow events to stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    if (maxRunning < 1) {
      throw new IllegalArgumentException("--max-running must be at least 1, got " + maxRunning);
    }
    if (imageGcInterval.isZero()) {
      throw new IllegalArgumentException("--image-gc-interval must be more than 0");
    }
    if (noWorker && cluster) {
      throw new IllegalArgumentException("--no-worker and --cluster exclude each other: --no-worker serves the API"
          + " only, --cluster also runs a worker");
    }
    InetSocketAddress bind = parseListen(listen);
    var err = spec.commandLine().getErr();
    PrivateDirs.ensure(worker.data);
    ApiToken.Found token = ApiToken.forServer(worker.data, tokenFile, System.getenv("TORPOR_TOKEN"), err);
    ApiAccess access = access(token, bind);
    Path logs = worker.data.resolve("logs");
    Server.Retention retention = new Server.Retention(imageRetention, imageGcInterval);
    Server server;
    ImageStore store;
    if (noWorker || cluster) {
      ControlPlaneConfig db = database.sharedConfig(noWorker ? "--no-worker" : "--cluster", worker.data, logs,
          cluster ? maxRunning : 1);
      var options = database.cluster();
      Optional<Server.ClusterWorker> local = Optional.empty();
      if (cluster) {
        local = Optional.of(new Server.ClusterWorker(WorkerCommand.nameOrDefault(name, worker.data), maxRunning,
            CriuEngine.locate(), worker.workerConfig(null, err), WorkerOptions.printer(err, quiet)));
      }
      store = worker.openStore(err);
      server = Server.cluster(db, store, local, options, retention, true, err);
    } else {
      CriuEngine criu = CriuEngine.locate();
      ControlPlaneConfig db = database.config(worker.data, logs);
      store = worker.openStore(err);
      server = Server.start(db, store, criu, worker.workerConfig(null, err), maxRunning, retention,
          WorkerOptions.printer(err, quiet), err);
    }
    HttpApi api;
    try {
      api = new HttpApi(server.controlPlane(), server.images(), bind, access).metrics(server.metrics()::scrape).start();
    } catch (IOException | RuntimeException e) {
      server.close();
      store.close();
      throw e;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      api.close();
      server.close();
      store.close();
      stopped.countDown();
    }, "torpor-shutdown"));
    if (allowPlainHttp && access.tls().isEmpty() && !bind.getAddress().isLoopbackAddress()) {
      err.println("torpor server: warning: --allow-plain-http: the API token crosses the network in clear on "
          + bind.getHostString() + ":" + api.port() + "; keep a TLS proxy in front");
    }
    err.println("torpor server: API token in " + token.source() + "; listening on "
        + (access.tls().isPresent() ? "https://" : "http://") + bind.getHostString() + ":" + api.port()
        + " (data " + worker.data.toAbsolutePath() + ", database " + (database.embedded() ? "embedded H2" : database.dbUrl)
        + ", store " + store.describe() + (noWorker ? ", no worker: workflows run on `torpor worker` nodes"
            : ", up to " + maxRunning + " running JVMs" + (cluster ? " as cluster worker " + server.nodeId() : "")) + ")");
    err.flush();
    stopped.await();
    return 0;
  }

  /** Who may use the API: the token, TLS, and the web origins and host names allowed. */
  private ApiAccess access(ApiToken.Found token, InetSocketAddress bind) {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("--tls-cert and --tls-key go together: give both (PEM files), or neither");
    }
    if (tlsCert == null && !allowPlainHttp && !bind.isUnresolved() && !bind.getAddress().isLoopbackAddress()) {
      throw new IllegalArgumentException("--listen " + listen + " is not a loopback address: the API token would cross"
          + " the network in clear; give --tls-cert and --tls-key (PEM), or, behind a TLS proxy, --allow-plain-http");
    }
    for (String o : allowOrigins) {
      if (!o.matches("https?://[A-Za-z0-9.\\[\\]:-]+")) {
        throw new IllegalArgumentException("--allow-origin takes an origin such as https://ops.example.com[:8443], not '"
            + o + "'");
      }
    }
    Optional<SSLContext> tls = tlsCert == null ? Optional.empty() : Optional.of(Pem.serverContext(tlsCert, tlsKey));
    return new ApiAccess(token.token(), tls, allowOrigins, allowHosts, allowPlainHttp);
  }

  static InetSocketAddress parseListen(String listen) {
    int colon = listen.lastIndexOf(':');
    if (colon <= 0 || colon == listen.length() - 1) {
      throw new IllegalArgumentException("--listen must be HOST:PORT, e.g. 127.0.0.1:7777, not '" + listen + "'");
    }
    String host = listen.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(listen.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--listen port must be a number, not '" + listen.substring(colon + 1) + "'");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--listen port must be 0 to 65535, not " + port);
    }
    return new InetSocketAddress(host, port);
  }
}
