package dev.torpor.storage;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-compatible server for tests: S3Proxy, started as its own process ({@code java -jar
 * s3proxy.jar}) on a free 127.0.0.1 port, storing objects as files in a temp directory, with
 * AWS signature v2/v4 authentication (identity {@value #ACCESS_KEY}, secret {@value
 * #SECRET_KEY}).
 *
 * <p>The jar comes from Maven Central ({@code org.gaul:s3proxy}, classifier {@code
 * jar-with-dependencies}); a module's build copies it and names it in the system property {@value
 * #JAR_PROPERTY} (see storage-s3's pom). Without it the fixture fails, never skips.
 *
 * <p>{@link #stop()} kills the server as an outage would; {@link #start()} brings it back on the
 * same port with the same objects. {@link #basedir()} is where the objects live, to damage them
 * directly: {@code <basedir>/<bucket>/<key>}.
 *
 * <pre>{@code
 * try (S3ProxyProcess s3 = S3ProxyProcess.launch()) {
 *   s3.createBucket("torpor-images");
 *   ImageStore store = S3ImageStore.open(s3.configFor("torpor-images").build(), s3.credentials());
 * }
 * }</pre>
 */
public final class S3ProxyProcess implements AutoCloseable {
  /** The system property naming the S3Proxy jar. */
  public static final String JAR_PROPERTY = "torpor.s3proxy.jar";
  public static final String ACCESS_KEY = "torpor-test";
  public static final String SECRET_KEY = "torpor-secret";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private final Path jar;
  private final Path home;
  private final Path basedir;
  private final Path log;
  private final Path properties;
  private final int port;
  private Process process;
  private Thread killOnExit;

  private S3ProxyProcess(Path jar, Path home, int port) throws IOException {
    this.jar = jar;
    this.home = home;
    this.basedir = Files.createDirectories(home.resolve("data"));
    this.log = home.resolve("s3proxy.log");
    this.properties = home.resolve("s3proxy.properties");
    this.port = port;
    Files.writeString(
        properties,
        String.join(
            "\n",
            "s3proxy.endpoint=" + endpoint(),
            "s3proxy.authorization=aws-v2-or-v4",
            "s3proxy.identity=" + ACCESS_KEY,
            "s3proxy.credential=" + SECRET_KEY,
            "jclouds.provider=filesystem-nio2",
            "jclouds.filesystem.basedir=" + basedir,
            ""),
        StandardCharsets.UTF_8);
  }

  /**
   * Starts a server with an empty store, and waits until it answers.
   *
   * @throws IllegalStateException if the jar is missing, or the server exits or does not answer
   *     in time; the message holds the end of its log
   */
  public static S3ProxyProcess launch() throws IOException {
    S3ProxyProcess s3 = new S3ProxyProcess(jar(), Files.createTempDirectory("torpor-s3proxy-"), freePort());
    try {
      s3.start();
    } catch (RuntimeException e) {
      s3.close();
      throw e;
    }
    return s3;
  }

  private static Path jar() {
    String property = System.getProperty(JAR_PROPERTY);
    if (property == null || property.isBlank()) {
      throw new IllegalStateException(
          "system property " + JAR_PROPERTY + " is not set: it names the S3Proxy jar the S3 tests"
              + " start. Run the tests through Maven (mvn -pl storage-s3 verify), which copies"
              + " org.gaul:s3proxy:jar-with-dependencies from Maven Central to"
              + " target/s3proxy/s3proxy.jar, or set it by hand");
    }
    Path jar = Path.of(property);
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "the S3Proxy jar " + jar + " (system property " + JAR_PROPERTY + ") does not exist: run"
              + " the tests through Maven, which copies it there from Maven Central");
    }
    return jar;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /**
   * Starts the server (again, after {@link #stop()}) on the same port with the same objects, and
   * waits until it answers HTTP.
   *
   * @throws IllegalStateException if it is running, or exits or does not answer in time
   */
  public synchronized void start() {
    if (isRunning()) {
      throw new IllegalStateException("S3Proxy is already running at " + endpoint());
    }
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    ProcessBuilder builder =
        new ProcessBuilder(java.toString(), "-jar", jar.toString(), "--properties", properties.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start S3Proxy: " + String.join(" ", builder.command()), e);
    }
    Process started = process;
    killOnExit = new Thread(started::destroyForcibly, "kill-s3proxy-" + port);
    Runtime.getRuntime().addShutdownHook(killOnExit);
    try {
      await("S3Proxy answering at " + endpoint())
          .atMost(START_TIMEOUT)
          .pollInterval(Duration.ofMillis(100))
          .failFast("S3Proxy exited", () -> !started.isAlive())
          .until(this::answers);
    } catch (ConditionTimeoutException | TerminalFailureException e) {
      String exit = started.isAlive() ? "did not answer within " + START_TIMEOUT : "exited";
      stop();
      throw new IllegalStateException(
          "S3Proxy (" + jar + ") " + exit + " at " + endpoint() + "; the end of its log " + log
              + ":\n" + logTail(),
          e);
    }
  }

  /** Whether the server answers any HTTP request (an unsigned one gets 403). */
  private boolean answers() {
    HttpRequest request =
        HttpRequest.newBuilder(endpoint()).timeout(Duration.ofSeconds(2)).GET().build();
    try {
      HTTP.send(request, HttpResponse.BodyHandlers.discarding());
      return true;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for S3Proxy", e);
    }
  }

  /** Kills the server (as an outage would: no clean shutdown) and waits for it to exit. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("S3Proxy (pid " + process.pid() + ") did not exit when killed");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for S3Proxy to exit", e);
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook runs anyway and finds the process gone
    }
    process = null;
  }

  /** Whether the server process is alive. */
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** {@code http://127.0.0.1:<port>}. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public String accessKey() {
    return ACCESS_KEY;
  }

  public String secretKey() {
    return SECRET_KEY;
  }

  /** The server's credentials, for the SDK. */
  public AwsCredentialsProvider credentials() {
    return StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY));
  }

  /** A store configuration for {@code bucket} on this server: endpoint, path-style, us-east-1. */
  public S3StoreConfig.Builder configFor(String bucket) {
    return S3StoreConfig.builder(bucket).endpoint(endpoint()).pathStyle(true).region("us-east-1");
  }

  /** A new SDK client of this server, to look behind a store's back; the caller closes it. */
  public S3Client newClient() {
    return S3Client.builder()
        .endpointOverride(endpoint())
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(credentials())
        .httpClient(Apache5HttpClient.create())
        .build();
  }

  /** Creates a bucket; the name must be valid for S3 (3 to 63 characters, e.g. torpor-images). */
  public void createBucket(String name) {
    try (S3Client s3 = newClient()) {
      s3.createBucket(b -> b.bucket(name));
    }
  }

  /** The directory holding the buckets, one folder each, and their objects as files. */
  public Path basedir() {
    return basedir;
  }

  /** The last lines of the server's log. */
  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  /** Kills the server and deletes its objects. */
  @Override
  public void close() {
    stop();
    try (Stream<Path> files = Files.walk(home)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete S3Proxy's directory " + home, e);
    }
  }
}
