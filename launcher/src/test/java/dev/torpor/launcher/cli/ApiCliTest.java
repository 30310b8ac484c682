package dev.torpor.launcher.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.launcher.http.ApiAccess;
import dev.torpor.launcher.http.HttpApi;
import dev.torpor.launcher.http.ApiTestPlane;
import dev.torpor.launcher.http.Json;
import dev.torpor.launcher.server.ImageJanitor;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The API commands run in this JVM against {@link HttpApi} over the real control plane ({@link ApiTestPlane}):
 * what they print (text and json), their exit codes, and what reaches the server.
 */
class ApiCliTest {
  private static final String ID_RULE = "use 1 to 128 characters from A-Z a-z 0-9 . _ -";
  private static final Instant WAKE = Instant.parse("2030-01-01T00:00:00Z");

  @TempDir Path tmp;

  @TempDir Path storeDir;
  @TempDir Path planeDir;
  private ApiTestPlane cp;
  private LocalDirectoryImageStore store;
  private ImageJanitor images;
  private HttpApi api;
  private String server;
  private Path tokenFile;
  private static final String TOKEN = "cli-test-token";

  /** What one execution printed and returned; stdout is kept as bytes. */
  record Result(int exitCode, byte[] outBytes, String err) {
    String out() {
      return new String(outBytes, StandardCharsets.UTF_8);
    }

    JsonNode json() throws IOException {
      return Json.mapper().readTree(outBytes);
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- out:\n" + out() + "--- err:\n" + err;
    }
  }

  @BeforeEach
  void start() throws IOException {
    cp = new ApiTestPlane(planeDir);
    store = new LocalDirectoryImageStore(storeDir);
    // Two hours ahead: what finishes in a test is past the janitor's one hour of retention.
    images = new ImageJanitor(store, cp, Duration.ofHours(1), Clock.offset(Clock.systemUTC(), Duration.ofHours(2)),
        new java.io.PrintWriter(java.io.OutputStream.nullOutputStream(), true));
    api = new HttpApi(cp, images, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ApiAccess.token(TOKEN)).start();
    server = "http://127.0.0.1:" + api.port();
    tokenFile = Files.writeString(tmp.resolve("api-token"), TOKEN + "\n");
  }

  @AfterEach
  void stop() {
    api.close();
    cp.close();
  }

  /** Runs {@code torpor args} in this JVM with stdout captured byte for byte; never exits. */
  static Result exec(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    CommandLine cl = TorporCommand.commandLine();
    cl.setOut(new BytePrintWriter(out));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Result(code, out.toByteArray(), err.toString());
  }

  /** Runs the subcommand {@code args[0]} against the test server (--server and --token-file right after it). */
  private Result run(String... args) {
    List<String> all = new ArrayList<>(List.of(args[0], "--server", server, "--token-file", tokenFile.toString()));
    all.addAll(Arrays.asList(args).subList(1, args.length));
    return exec(all.toArray(String[]::new));
  }

  private Path jar() throws IOException {
    return SubmitJarCheckTest.jarWith(tmp.resolve("app.jar"), "com/acme/Main.class", "com/acme/Util.class");
  }

  // ---- help ----

  @Test
  void helpListsTheApiCommandsAndTheirExitCodes() {
    Result r = exec("--help");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    for (String cmd : List.of("submit", "signal", "list", "status", "history", "logs", "cancel", "wake")) {
      assertThat(r.out()).as(r.toString()).containsPattern("(?m)^\\s+" + cmd + "\\s");
    }
    assertThat(r.out()).as(r.toString())
        .containsPattern("(?m)^\\s+2\\s+bad usage")
        .containsPattern("(?m)^\\s+3\\s+no such workflow")
        .containsPattern("(?m)^\\s+4\\s+conflict")
        .containsPattern("(?m)^\\s+5\\s+no Torpor server")
        .containsPattern("(?m)^\\s+6\\s+the server wants a \\(different\\) bearer token")
        .containsPattern("(?m)^\\s+125\\s+Torpor itself failed");
  }

  @Test
  void serverDefaultsToTheEnvironmentOrLocalPort7777() {
    CommandLine cl = TorporCommand.commandLine();
    CommandLine.ParseResult parsed = cl.parseArgs("status", "wf-1");
    StatusCommand status = parsed.subcommand().commandSpec().commandLine().getCommand();

    String env = System.getenv("TORPOR_SERVER");
    assertThat(status.serverOptions.server).isEqualTo(env != null ? env : "http://127.0.0.1:7777");
    String tokenFileEnv = System.getenv("TORPOR_TOKEN_FILE");
    assertThat(status.serverOptions.tokenFile).isEqualTo(tokenFileEnv == null ? null : Path.of(tokenFileEnv));
    assertThat(status.output.json()).isFalse();
  }

  // ---- submit ----

  @Test
  void submitUploadsTheJarAndPrintsTheIdAlone() throws IOException {
    Path jar = jar();

    Result r = run("submit", "--jar", jar.toString(), "--main", "com.acme.Main", "--id", "wf-a",
        "--java-opts", "-Xmx64m -XX:+UseSerialGC", "--", "x", "--y");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("wf-a\n");
    assertThat(r.err()).isEmpty();
    String sha = ApiTestPlane.sha256(Files.readAllBytes(jar));
    assertThat(cp.apps()).containsKey(sha);
    JsonNode view = run("status", "wf-a", "--output", "json").json();
    assertThat(view.path("appSha256").asText()).isEqualTo(sha);
    assertThat(view.path("mainClass").asText()).isEqualTo("com.acme.Main");
    assertThat(view.path("args").toString()).isEqualTo("[\"x\",\"--y\"]");
  }

  @Test
  void submitWithoutIdPrintsTheServersId() throws IOException {
    Result r = run("submit", "--jar", jar().toString(), "--main", "com.acme.Main");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).startsWith("wf-").endsWith("\n").hasLineCount(1);
  }

  @Test
  void submitJsonPrintsTheServersAnswerPretty() throws IOException {
    Result r = run("submit", "--jar", jar().toString(), "--main", "com.acme.Main", "--id", "wf-a", "--output", "json");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("{\n  \"id\" : \"wf-a\",\n  \"created\" : true\n}\n");
  }

  @Test
  void submitAgainChangesNothingAndSaysSo() throws IOException {
    String[] args = {"submit", "--jar", jar().toString(), "--main", "com.acme.Main", "--id", "wf-a"};
    run(args);

    Result r = run(args);

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("wf-a\n");
    assertThat(r.err()).isEqualTo("torpor: workflow wf-a was already submitted with this request; nothing changed\n");
  }

  @Test
  void submitOfAnotherRequestUnderTheSameIdIsAConflict() throws IOException {
    run("submit", "--jar", jar().toString(), "--main", "com.acme.Main", "--id", "wf-a");

    Result r = run("submit", "--jar", jar().toString(), "--main", "com.acme.Util", "--id", "wf-a");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).startsWith("torpor: workflow wf-a already exists with a different request");
  }

  @Test
  void submitChecksTheMainClassLocallyBeforeUploading() throws IOException {
    Path jar = jar();

    Result r = run("submit", "--jar", jar.toString(), "--main", "com.acme.Missing");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).isEqualTo("torpor: class com.acme.Missing is not in " + jar
        + " (no entry com/acme/Missing.class): check --main and --jar\n");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void submitRefusesWhatIsNotAJarAndAMissingFile() throws IOException {
    Path text = Files.writeString(tmp.resolve("app.jar"), "text");

    Result notJar = run("submit", "--jar", text.toString(), "--main", "com.acme.Main");
    Result missing = run("submit", "--jar", tmp.resolve("gone.jar").toString(), "--main", "com.acme.Main");

    assertThat(notJar.exitCode()).as(notJar.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(notJar.err()).contains(text + " is not a jar (zip) file");
    assertThat(missing.exitCode()).as(missing.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(missing.err()).contains("gone.jar does not exist");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void submitRefusesAnInvalidIdLocally() throws IOException {
    Result r = run("submit", "--jar", jar().toString(), "--main", "com.acme.Main", "--id", "a/b");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("'a/b'").contains(ID_RULE);
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void submitWithoutMainIsUsage() throws IOException {
    Result r = run("submit", "--jar", jar().toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--main");
  }

  // ---- signal ----

  @Test
  void signalSendsTextPayload() {
    cp.suspended("wf-1", "SIGNAL", "approve", null);

    Result r = run("signal", "wf-1", "approve", "yes");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("signal 'approve' (3 bytes) queued for wf-1\n");
    cp.gateway.awaitCall("wake wf-1 " + ApiTestPlane.SEQ + " SIGNAL yes");
    assertThat(cp.gateway.wakeups.get("wf-1").signal().orElseThrow().name()).isEqualTo("approve");
  }

  @Test
  void signalSendsARandomIdempotencyKeyPerInvocationAndTheGivenOneWithTheFlag() throws IOException {
    cp.running("wf-1");

    Result a = run("signal", "wf-1", "go", "x");
    Result b = run("signal", "wf-1", "go", "x");
    Result given = run("signal", "wf-1", "go", "x", "--idempotency-key", "order-7-approval");
    Result retried = run("signal", "wf-1", "go", "x", "--idempotency-key", "order-7-approval", "--output", "json");

    assertThat(List.of(a, b, given, retried)).allSatisfy(r -> assertThat(r.exitCode()).as(r.toString()).isZero());
    List<java.util.Optional<String>> keys = cp.signalKeysSeen();
    assertThat(keys).hasSize(4).allSatisfy(k -> assertThat(k).isPresent());
    assertThat(keys.get(0)).isNotEqualTo(keys.get(1)); // a new key per invocation: two commands, two signals
    assertThat(keys.subList(2, 4)).containsOnly(java.util.Optional.of("order-7-approval"));
    assertThat(cp.receivedSignals()).containsExactly("wf-1:go", "wf-1:go", "wf-1:go");
    assertThat(given.out()).isEqualTo("signal 'go' (1 bytes) queued for wf-1 (idempotency key order-7-approval)\n");
    assertThat(retried.json().path("duplicate").asBoolean(false)).isTrue();
  }

  @Test
  void aBadIdempotencyKeyIsRefusedBeforeSending() {
    cp.running("wf-1");

    Result r = run("signal", "wf-1", "go", "--idempotency-key", "has space");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("invalid idempotency key 'has space'").contains("without spaces");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void signalWhoseAnswerIsLostIsSentAgainUnderTheSameKeyAndStoredOnce() throws Exception {
    cp.running("wf-1");
    try (AnswerDroppingProxy proxy = new AnswerDroppingProxy(api.port())) {
      List<String> args = new ArrayList<>(List.of("signal", "--server", "http://127.0.0.1:" + proxy.port(), "--token-file",
          tokenFile.toString(), "wf-1", "go", "once", "--output", "json"));

      Result r = exec(args.toArray(String[]::new));

      assertThat(r.exitCode()).as(r.toString()).isZero();
      assertThat(r.err()).contains("trying again under the same idempotency key (attempt 2 of 3)");
      assertThat(proxy.connections()).isEqualTo(2);
      List<java.util.Optional<String>> keys = cp.signalKeysSeen();
      assertThat(keys).hasSize(2);
      assertThat(keys.get(1)).isEqualTo(keys.get(0)).isPresent();
      assertThat(cp.receivedSignals()).containsExactly("wf-1:go");
      assertThat(r.json().path("duplicate").asBoolean(false)).isTrue();
    }
  }

  /**
   * A loopback TCP relay to the API that drops the first connection's answer once the server has
   * begun sending it (the request took effect, the client never hears so), and relays the rest.
   */
  private static final class AnswerDroppingProxy implements AutoCloseable {
    private final java.net.ServerSocket socket = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
    private final Thread acceptor;

    AnswerDroppingProxy(int target) throws IOException {
      acceptor = new Thread(() -> {
        while (!socket.isClosed()) {
          try {
            java.net.Socket client = socket.accept();
            java.net.Socket server = new java.net.Socket(InetAddress.getLoopbackAddress(), target);
            boolean drop = connections.incrementAndGet() == 1;
            relayRequests(client.getInputStream(), server.getOutputStream(), target);
            if (drop) {
              new Thread(() -> {
                try (client; server) {
                  server.getInputStream().read(); // the answer has begun: the signal is stored
                } catch (IOException ignored) {
                  // closed either way
                }
              }).start();
            } else {
              pump(server.getInputStream(), client.getOutputStream());
            }
          } catch (IOException e) {
            return; // closed
          }
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
    }

    /** Relays one request after another, each with its Host header made the API's (which refuses any other port). */
    private static void relayRequests(java.io.InputStream in, java.io.OutputStream out, int target) {
      Thread t = new Thread(() -> {
        try {
          while (true) {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
              int b = in.read();
              if (b < 0) {
                out.close();
                return;
              }
              head.write(b);
            }
            String h = head.toString(StandardCharsets.ISO_8859_1)
                .replaceAll("(?im)^host: [^\r]*", "Host: 127.0.0.1:" + target);
            out.write(h.getBytes(StandardCharsets.ISO_8859_1));
            java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?im)^content-length: *(\\d+)").matcher(h);
            long body = length.find() ? Long.parseLong(length.group(1)) : 0;
            out.write(in.readNBytes((int) body));
            out.flush();
          }
        } catch (IOException ignored) {
          // one side closed
        }
      });
      t.setDaemon(true);
      t.start();
    }

    private static void pump(java.io.InputStream in, java.io.OutputStream out) {
      Thread t = new Thread(() -> {
        try {
          in.transferTo(out);
          out.close();
        } catch (IOException ignored) {
          // one side closed
        }
      });
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    int connections() {
      return connections.get();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  @Test
  void signalSendsAFilesBytesAndPrintsJson() throws IOException {
    cp.running("wf-1");
    byte[] bytes = {0, (byte) 0xff, 10};
    Path f = Files.write(tmp.resolve("p.bin"), bytes);

    Result r = run("signal", "wf-1", "data", "@" + f, "--output", "json");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.json().path("delivered").asText()).isEqualTo("queued");
    assertThat(cp.receivedSignals()).containsExactly("wf-1:data");
    assertThat(cp.take("wf-1", "data")).isEqualTo(bytes);
  }

  @Test
  void signalWithoutPayloadSendsAnEmptyOne() {
    cp.running("wf-1");

    Result r = run("signal", "wf-1", "go");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(cp.receivedSignals()).containsExactly("wf-1:go");
    assertThat(cp.take("wf-1", "go")).isEmpty();
  }

  @Test
  void signalOverOneMebibyteIsRefusedBeforeSending() throws IOException {
    cp.running("wf-1");
    Path big = Files.write(tmp.resolve("big.bin"), new byte[(1 << 20) + 1]);

    Result r = run("signal", "wf-1", "go", "@" + big);

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("1048577 bytes").contains("1 MiB");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void signalToUnknownWorkflowIsNotFoundAndToFinishedOneIsConflict() {
    cp.running("done");
    cp.finish("done", 0);

    Result unknown = run("signal", "nosuch", "go");
    Result finished = run("signal", "done", "go");

    assertThat(unknown.exitCode()).as(unknown.toString()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(unknown.err()).isEqualTo("torpor: no workflow with id nosuch: `torpor list` shows the known ones\n");
    assertThat(finished.exitCode()).as(finished.toString()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(finished.err()).startsWith("torpor: workflow done has finished");
  }

  // ---- list, status, history ----

  @Test
  void listPrintsATableOrTheServersJson() throws IOException {
    cp.running("r-1");
    cp.suspended("t-1", "TIMER", null, WAKE);

    Result text = run("list");
    Result json = run("list", "--output", "json", "--state", "suspended", "--waiting-on", "timer", "--limit", "5");

    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out().lines().toList()).hasSize(3);
    assertThat(text.out()).startsWith("ID   ").contains("t-1  SUSPENDED  3    timer until 2030-01-01T00:00:00Z")
        .contains("r-1  RUNNING");
    assertThat(json.exitCode()).as(json.toString()).isZero();
    assertThat(json.json().isArray()).isTrue();
    assertThat(json.json().size()).isEqualTo(1);
    assertThat(json.json().get(0).path("id").asText()).isEqualTo("t-1");
    assertThat(json.out()).startsWith("[ {\n  \"id\" : \"t-1\",\n  \"state\" : \"SUSPENDED\",\n");
  }

  @Test
  void listWithAnUnknownStateIsUsageNamingTheStates() {
    Result r = run("list", "--state", "asleep");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).isEqualTo("torpor: unknown state 'asleep': use one of PENDING, RUNNING, SUSPENDED, COMPLETED, FAILED, CANCELLED\n");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void statusPrintsLinesOrJson() throws IOException {
    cp.suspended("wf-1", "SIGNAL", "approve", WAKE);

    Result text = run("status", "wf-1");
    Result json = run("status", "wf-1", "-o", "json");

    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out()).contains("state:           SUSPENDED\n")
        .contains("seq:             3\n")
        .contains("waiting on:      signal 'approve' until 2030-01-01T00:00:00Z\n")
        .contains("next wake:       2030-01-01T00:00:00Z\n")
        .contains("image:           12.3 MB raw, 4.6 MB packed\n")
        .contains("pending signals: 1\n")
        .contains("wait 1: signal 'approve' until 2030-01-01T00:00:00Z\n    at dev.torpor.Durable.waitFor(Durable.java:42)\n");
    assertThat(json.exitCode()).as(json.toString()).isZero();
    assertThat(json.json().path("wakeAt").asText()).isEqualTo("2030-01-01T00:00:00Z");
    assertThat(json.json().path("waits").get(0).path("signals").get(0).asText()).isEqualTo("approve");
    assertThat(json.json().path("waitSignal").asText()).isEqualTo("approve");
  }

  @Test
  void statusCountsTheImagesInTheStoreAndImagesGcDeletesThoseOfFinishedWorkflows() throws IOException {
    cp.suspended("wf-1", "SIGNAL", "approve", WAKE);
    cp.running("old");
    cp.finish("old", 0); // past the retention by the janitor's clock
    for (long seq = 1; seq <= 2; seq++) {
      for (String id : List.of("wf-1", "old")) {
        byte[] data = dev.torpor.storage.TestManifests.bytes(seq, 1_500_000);
        dev.torpor.storage.ImageKey key = new dev.torpor.storage.ImageKey(id, seq);
        try (dev.torpor.storage.ImageUpload up = store.begin(key)) {
          up.data().write(data);
          up.commit(dev.torpor.storage.TestManifests.aManifest(key, data));
        }
      }
    }

    assertThat(run("status", "wf-1").out()).contains("images:          2 in the store, 3.0 MB\n");
    assertThat(run("status", "old", "-o", "json").json().path("images").path("count").asInt()).isEqualTo(2);

    Result dry = exec("images", "gc", "--server", server, "--token-file", tokenFile.toString(), "--dry-run");
    assertThat(dry.exitCode()).as(dry.toString()).isZero();
    assertThat(dry.out()).isEqualTo("would delete 2 image(s), 3.0 MB, of 1 finished workflow(s); kept 0 last image(s),"
        + " 0.0 MB, until their retention ends\n");
    assertThat(store.seqs("old")).hasSize(2);

    Result gc = exec("images", "gc", "--server", server, "--token-file", tokenFile.toString(), "-o", "json");
    assertThat(gc.exitCode()).as(gc.toString()).isZero();
    assertThat(gc.json().path("imagesDeleted").asInt()).isEqualTo(2);
    assertThat(store.seqs("old")).isEmpty();
    assertThat(store.seqs("wf-1")).as("a live workflow's images are not collected").hasSize(2);
    assertThat(exec("images").exitCode()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void statusOfUnknownWorkflowIsNotFound() {
    Result r = run("status", "nosuch");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(r.err()).isEqualTo("torpor: no workflow with id nosuch: `torpor list` shows the known ones\n");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void statusOfAnInvalidIdIsUsageWithoutARequest() {
    Result r = run("status", "../etc");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains(ID_RULE);
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void historyPrintsEventsOrJson() throws IOException {
    run("submit", "--jar", jar().toString(), "--main", "com.acme.Main", "--id", "wf-a");
    cp.gateway.awaitCall("start wf-a");
    run("signal", "wf-a", "go", "x");

    Result text = run("history", "wf-a");
    Result json = run("history", "wf-a", "--output=json");

    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out().lines().toList()).hasSize(3);
    assertThat(text.out()).containsPattern("(?m)^#\\d+\\s+\\S+Z  SUBMITTED\\s+seq 0  ")
        .containsPattern("(?m)^#\\d+\\s+\\S+Z  STARTED\\s+seq 0")
        .containsPattern("(?m)^#\\d+\\s+\\S+Z  SIGNAL_RECEIVED\\s+seq 0  .*signal=go");
    assertThat(json.json().size()).isEqualTo(3);
    assertThat(json.json().get(2).path("type").asText()).isEqualTo("SIGNAL_RECEIVED");
  }

  // ---- logs ----

  @Test
  void logsPrintTheBytesAsTheyAre() {
    cp.running("wf-1");
    byte[] log = {'h', 'i', '\n', (byte) 0xff, (byte) 0xc3, 0, '\n'};
    cp.appendLog("wf-1", log);

    Result r = run("logs", "wf-1");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.outBytes()).isEqualTo(log);
  }

  @Test
  void logsFollowPollsUntilTheWorkflowHasFinished() throws Exception {
    cp.running("wf-1");
    cp.appendLog("wf-1", "before\n".getBytes(StandardCharsets.UTF_8));

    CompletableFuture<Result> follow = CompletableFuture.supplyAsync(() -> run("logs", "wf-1", "--follow"));
    cp.awaitLogReads(2); // it has read "before" and found nothing more yet
    assertThat(follow).isNotDone();
    cp.appendLog("wf-1", "after\n".getBytes(StandardCharsets.UTF_8));
    cp.finish("wf-1", 0);
    Result r = follow.get(10, TimeUnit.SECONDS);

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("before\nafter\n");
  }

  @Test
  void logsOfUnknownWorkflowIsNotFound() {
    Result r = run("logs", "nosuch", "--follow");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(r.outBytes()).isEmpty();
  }

  // ---- cancel, wake ----

  @Test
  void cancelThenCancelAgainIsAConflict() throws IOException {
    cp.running("wf-1");

    Result first = run("cancel", "wf-1");
    Result again = run("cancel", "wf-1", "--output", "json");

    assertThat(first.exitCode()).as(first.toString()).isZero();
    assertThat(first.out()).isEqualTo("cancelled wf-1\n");
    assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(again.err()).startsWith("torpor: workflow wf-1 has already finished (CANCELLED)");
    assertThat(run("status", "wf-1", "-o", "json").json().path("state").asText()).isEqualTo("CANCELLED");
  }

  @Test
  void wakeATimerWaitButNotASignalWait() throws IOException {
    cp.suspended("t-1", "TIMER", null, WAKE);
    cp.suspended("s-1", "SIGNAL", "approve", null);

    Result timer = run("wake", "t-1", "--output", "json");
    Result signal = run("wake", "s-1");

    assertThat(timer.exitCode()).as(timer.toString()).isZero();
    assertThat(timer.json().path("woken").asBoolean()).isTrue();
    assertThat(signal.exitCode()).as(signal.toString()).isEqualTo(ExitCodes.CONFLICT);
    assertThat(signal.err()).contains("not waiting on a timer").contains("send it instead");
  }

  // ---- server, token ----

  @Test
  void noServerListeningIsExit5SayingHowToStartOne() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }

    Result r = exec("list", "--server", "http://127.0.0.1:" + port);

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(r.err()).isEqualTo("torpor: no Torpor server at http://127.0.0.1:" + port
        + " (connection refused): start one with `torpor server`, or point --server/TORPOR_SERVER at it\n");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void aServerUrlThatIsNotHttpIsUsage() {
    Result r = exec("list", "--server", "127.0.0.1:7777");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("--server must be an http:// or https:// URL");
  }

  @Test
  void theServerRefusesAWrongTokenAndTheCliSaysWhereTheRightOneIs() throws IOException {
    cp.running("wf-1");
    Path wrongFile = Files.writeString(tmp.resolve("wrong-token"), "nope\n");

    Result wrong = exec("status", "wf-1", "--server", server, "--token-file", wrongFile.toString());
    Result missing = exec("status", "wf-1", "--server", server, "--token-file", tmp.resolve("absent").toString());
    Result right = run("status", "wf-1");

    assertThat(wrong.exitCode()).as(wrong.toString()).isEqualTo(ExitCodes.UNAUTHORIZED);
    assertThat(wrong.err()).contains("refused the API token from " + wrongFile).contains("api-token")
        .contains("TORPOR_TOKEN");
    assertThat(missing.exitCode()).as(missing.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(missing.err()).contains("the token file " + tmp.resolve("absent") + " does not exist");
    assertThat(right.exitCode()).as(right.toString()).isZero();
    assertThat(right.out()).contains("id:              wf-1");
  }

  @Test
  void anErrorThatIsNotOursIsFailure() {
    cp.failNextCallWith(new IllegalStateException("boom"));

    Result r = run("list");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).isEqualTo("torpor: internal server error answering GET /v1/workflows: the server's log has the details\n");
  }
}
