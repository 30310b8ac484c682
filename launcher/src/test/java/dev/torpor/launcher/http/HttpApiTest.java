package dev.torpor.launcher.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.launcher.server.ImageJanitor;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The HTTP layer over the real control plane ({@link ApiTestPlane}): parsing, statuses, JSON shapes, auth, limits. */
class HttpApiTest {
  private static final String TOKEN = "test-token-0123456789";
  /** For {@link #send}: no Authorization header at all. */
  private static final String NO_AUTH = "";

  private static final String ID_RULE = "use 1 to 128 characters from A-Z a-z 0-9 . _ -";
  private static final Instant WAKE = Instant.parse("2030-01-01T00:00:00Z");

  @TempDir Path storeDir;
  @TempDir Path planeDir;
  private ApiTestPlane cp;
  private LocalDirectoryImageStore store;
  private ImageJanitor images;
  private final ByteArrayOutputStream serverLog = new ByteArrayOutputStream();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private HttpApi api;

  /** What the server answered. */
  record Answer(int status, String body, HttpResponse<byte[]> raw) {
    JsonNode json() throws IOException {
      return Json.mapper().readTree(body);
    }

    String error() throws IOException {
      return json().path("error").asText();
    }

    String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }

    @Override
    public String toString() {
      return "HTTP " + status + " " + raw.headers().map() + "\n" + body;
    }
  }

  @BeforeEach
  void start() throws IOException {
    cp = new ApiTestPlane(planeDir);
    store = new LocalDirectoryImageStore(storeDir);
    images = new ImageJanitor(store, cp, Duration.ofHours(1), Clock.systemUTC(),
        new java.io.PrintWriter(java.io.OutputStream.nullOutputStream(), true));
    api = start(TOKEN, HttpApi.MAX_APP_BYTES);
  }

  @AfterEach
  void stop() {
    api.close();
    cp.close();
  }

  private HttpApi start(String token, long maxAppBytes) throws IOException {
    return start(ApiAccess.token(token), maxAppBytes);
  }

  private HttpApi start(ApiAccess access, long maxAppBytes) throws IOException {
    return new HttpApi(cp, images, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), access, maxAppBytes,
        new PrintStream(serverLog, true, StandardCharsets.UTF_8)).start();
  }

  /**
   * Sends a request; {@code authorization} null sends the server's token, {@link #NO_AUTH} none;
   * {@code headers} are extra name, value pairs.
   */
  private Answer send(HttpApi to, String method, String path, BodyPublisher body, String contentType, String authorization,
      String... headers) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + path))
        .timeout(Duration.ofSeconds(30))
        .method(method, body);
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    if (authorization == null) {
      b.header("Authorization", "Bearer " + TOKEN);
    } else if (!authorization.equals(NO_AUTH)) {
      b.header("Authorization", authorization);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    return new Answer(r.statusCode(), new String(r.body(), StandardCharsets.UTF_8), r);
  }

  private Answer get(String path) throws IOException, InterruptedException {
    return send(api, "GET", path, BodyPublishers.noBody(), null, null);
  }

  private Answer post(String path, String json) throws IOException, InterruptedException {
    return send(api, "POST", path, BodyPublishers.ofString(json), "application/json", null);
  }

  private Answer postBytes(String path, byte[] body) throws IOException, InterruptedException {
    String type = path.equals("/v1/apps") ? "application/java-archive" : "application/octet-stream";
    return send(api, "POST", path, BodyPublishers.ofByteArray(body), type, null);
  }

  /** A body without Content-Length (chunked), so the server must count what it reads. */
  private static BodyPublisher chunked(byte[] body) {
    return BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body));
  }

  /** Sends only the headers of a request declaring {@code contentLength} bytes and reads the answer. */
  private String rawRequestDeclaring(String path, long contentLength) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), api.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      String type = path.endsWith("/apps") ? "application/java-archive" : "application/octet-stream";
      out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + api.port() + "\r\nAuthorization: Bearer " + TOKEN
          + "\r\nContent-Type: " + type + "\r\nContent-Length: " + contentLength + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
        int c = in.read();
        assertThat(c).as("the server closed before answering: " + head).isNotNegative();
        head.write(c);
      }
      String headers = head.toString(StandardCharsets.US_ASCII);
      int length = Integer.parseInt(headers.lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
          .findFirst().orElseThrow().substring("content-length:".length()).strip());
      return headers + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }
  }

  static byte[] jarBytes() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("com/acme/Main.class"));
      zip.write(new byte[] {(byte) 0xca, (byte) 0xfe, (byte) 0xba, (byte) 0xbe});
      zip.closeEntry();
    }
    return bytes.toByteArray();
  }

  private String storeApp() throws IOException, InterruptedException {
    return postBytes("/v1/apps", jarBytes()).json().path("sha256").asText();
  }

  // ---- health, routing ----

  @Test
  void healthIsOk() throws Exception {
    Answer a = get("/v1/health");

    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    assertThat(a.header("Content-Type")).isEqualTo("application/json; charset=utf-8");
    assertThat(a.body()).isEqualTo("{\"status\":\"ok\"}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/v2/workflows", "/v1/workflow", "/v1/workflows/wf-1/nothing", "/v1/workflows/wf-1/signals"})
  void unknownPathIs404WithJsonError(String path) throws Exception {
    Answer a = get(path);

    assertThat(a.status()).as(a.toString()).isEqualTo(404);
    assertThat(a.error()).as(a.toString()).contains("no such endpoint: GET " + path).contains("/v1/workflows");
  }

  @ParameterizedTest
  @CsvSource({
    "DELETE, /v1/workflows/wf-1, GET",
    "POST, /v1/health, GET",
    "GET, /v1/apps, POST",
    "PUT, /v1/workflows, 'GET, POST'",
    "GET, /v1/workflows/wf-1/signals/go, POST",
    "GET, /v1/workflows/wf-1/cancel, POST"
  })
  void wrongMethodIs405WithAllow(String method, String path, String allow) throws Exception {
    Answer a = send(api, method, path, BodyPublishers.noBody(), null, null);

    assertThat(a.status()).as(a.toString()).isEqualTo(405);
    assertThat(a.header("Allow")).isEqualTo(allow);
    assertThat(a.error()).contains(method + " is not allowed on " + path).contains("use " + allow);
    assertThat(cp.calls()).isEmpty();
  }

  // ---- apps ----

  @Test
  void storeAppAnswersItsSha256() throws Exception {
    byte[] jar = jarBytes();

    Answer a = postBytes("/v1/apps", jar);

    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    String sha = ApiTestPlane.sha256(jar);
    assertThat(a.json().path("sha256").asText()).isEqualTo(sha);
    assertThat(a.json().size()).isEqualTo(1);
    assertThat(cp.apps().get(sha)).isEqualTo(jar);
  }

  @Test
  void storeAppRefusesWhatIsNotAJar() throws Exception {
    Answer a = postBytes("/v1/apps", "plain text, not a zip".getBytes(StandardCharsets.UTF_8));

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).contains("not a jar (zip) file");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void storeAppRefusesAnEmptyBody() throws Exception {
    Answer a = postBytes("/v1/apps", new byte[0]);

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).contains("empty").contains("jar");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void storeAppOverTheLimitWithoutContentLengthIs413AndStoresNothing() throws Exception {
    byte[] jar = jarBytes();
    try (HttpApi small = start(TOKEN, jar.length - 1)) {
      Answer a = send(small, "POST", "/v1/apps", chunked(jar), "application/java-archive", null);

      assertThat(a.status()).as(a.toString()).isEqualTo(413);
      assertThat(a.error()).contains("the limit is " + (jar.length - 1) + " bytes");
    }
    assertThat(cp.apps()).doesNotContainKey(ApiTestPlane.sha256(jar));
  }

  @Test
  void storeAppOfExactlyTheLimitIsStored() throws Exception {
    byte[] jar = jarBytes();
    try (HttpApi small = start(TOKEN, jar.length)) {
      Answer a = send(small, "POST", "/v1/apps", chunked(jar), "application/java-archive", null);

      assertThat(a.status()).as(a.toString()).isEqualTo(200);
    }
    assertThat(cp.apps()).containsKey(ApiTestPlane.sha256(jar));
  }

  @Test
  void storeAppDeclaringMoreThan512MiBIs413BeforeAnyByteIsRead() throws IOException {
    String answer = rawRequestDeclaring("/v1/apps", HttpApi.MAX_APP_BYTES + 1);

    assertThat(answer).startsWith("HTTP/1.1 413").contains("is 536870913 bytes; the limit is 536870912 bytes (512 MiB)");
    assertThat(cp.calls()).isEmpty();
  }

  // ---- submit ----

  @Test
  void submitCreatesThenIsIdempotentThenConflicts() throws Exception {
    String sha = storeApp();
    String body = "{\"id\":\"wf-1\",\"app\":\"" + sha + "\",\"main\":\"com.acme.Main\",\"args\":[\"x\"],\"javaOptions\":[\"-Xmx64m\"]}";

    Answer first = post("/v1/workflows", body);
    Answer again = post("/v1/workflows", body);
    Answer other = post("/v1/workflows", body.replace("\"x\"", "\"y\""));

    assertThat(first.status()).as(first.toString()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("{\"id\":\"wf-1\",\"created\":true}");
    assertThat(first.header("Location")).isEqualTo("/v1/workflows/wf-1");
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    assertThat(again.body()).isEqualTo("{\"id\":\"wf-1\",\"created\":false}");
    assertThat(other.status()).as(other.toString()).isEqualTo(409);
    assertThat(other.error()).contains("wf-1").contains("different request");
  }

  @Test
  void submitWithoutIdGetsOne() throws Exception {
    String sha = storeApp();

    Answer a = post("/v1/workflows", "{\"app\":\"" + sha + "\",\"main\":\"com.acme.Main\"}");

    assertThat(a.status()).as(a.toString()).isEqualTo(201);
    String id = a.json().path("id").asText();
    assertThat(id).startsWith("wf-").matches("[A-Za-z0-9._-]{1,128}");
    assertThat(a.json().path("created").asBoolean()).isTrue();
    assertThat(a.header("Location")).isEqualTo("/v1/workflows/" + id);
    assertThat(get("/v1/workflows/" + id).status()).isEqualTo(200);
  }

  @Test
  void submitWithoutContentTypeIs415AndChangesNothing() throws Exception {
    String sha = storeApp();
    cp.forgetCalls();

    Answer a = send(api, "POST", "/v1/workflows",
        BodyPublishers.ofString("{\"app\":\"" + sha + "\",\"main\":\"com.acme.Main\"}"), null, null);

    assertThat(a.status()).as(a.toString()).isEqualTo(415);
    assertThat(a.error()).contains("application/json").contains("has none");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void submitWithTheEnvironmentPassesItOnAndRefusesReservedNames() throws Exception {
    String sha = storeApp();

    Answer ok = post("/v1/workflows", "{\"id\":\"e-1\",\"app\":\"" + sha + "\",\"main\":\"M\",\"env\":{\"PLAN\":\"annual\"}}");
    Answer reserved = post("/v1/workflows", "{\"id\":\"e-2\",\"app\":\"" + sha + "\",\"main\":\"M\",\"env\":{\"TORPOR_RUN_DIR\":\"/\"}}");
    Answer badName = post("/v1/workflows", "{\"id\":\"e-3\",\"app\":\"" + sha + "\",\"main\":\"M\",\"env\":{\"1A\":\"x\"}}");

    assertThat(ok.status()).as(ok.toString()).isEqualTo(201);
    assertThat(reserved.status()).as(reserved.toString()).isEqualTo(400);
    assertThat(reserved.error()).contains("TORPOR_RUN_DIR").contains("reserved");
    assertThat(badName.status()).as(badName.toString()).isEqualTo(400);
    assertThat(badName.error()).contains("'1A'").contains("not valid");
    assertThat(get("/v1/workflows/e-2").status()).isEqualTo(404);
  }

  @Test
  void submitAcceptsJsonWithCharset() throws Exception {
    String sha = storeApp();

    Answer a = send(api, "POST", "/v1/workflows",
        BodyPublishers.ofString("{\"app\":\"" + sha + "\",\"main\":\"M\"}"), "Application/JSON; charset=UTF-8", null);

    assertThat(a.status()).as(a.toString()).isEqualTo(201);
  }

  @Test
  void submitWithAnotherContentTypeIs415() throws Exception {
    Answer a = send(api, "POST", "/v1/workflows", BodyPublishers.ofString("{\"app\":\"a\",\"main\":\"M\"}"),
        "text/plain", null);

    assertThat(a.status()).as(a.toString()).isEqualTo(415);
    assertThat(a.error()).contains("application/json").contains("text/plain");
    assertThat(cp.calls()).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
    "{\"app\": \"a\", \"main\": }                        | malformed JSON at line 1, column 2",
    "{\"app\": \"a\" \"main\": \"M\"}                    | malformed JSON at line 1",
    "{\"app\": \"a\", \"main\": \"M\", \"mian\": \"M\"}  | unknown field 'mian' in the JSON body: known fields are app, args, env, id, javaOptions, main",
    "{\"app\": \"a\"}                                    | field 'main' is required",
    "{\"main\": \"M\"}                                   | field 'app' is required",
    "{\"app\": \"a\", \"main\": \"M\", \"args\": \"x\"}  | field 'args' has the wrong type: give an array of strings",
    "{\"app\": \"a\", \"main\": \"M\", \"args\": [\"x\", null]} | field 'args[1]' is null",
    "{\"app\": [1], \"main\": \"M\"}                     | field 'app' has the wrong type: give a string",
    "[\"app\"]                                           | the JSON body must be a JSON object, such as {",
    "{\"app\": \"a\", \"main\": \"M\"} {}                | the JSON body must be one JSON object with nothing after it",
    "{\"app\": \"a\", \"main\": \"M\", \"args\": [[]]} | field 'args[0]' has the wrong type",
    "{\"id\": \"../x\", \"app\": \"a\", \"main\": \"M\"} | invalid workflow id '../x': use 1 to 128 characters",
    "`   `                                               | the request body is empty: send a JSON object"
  })
  void submitWithBadJsonIs400NamingTheProblem(String body, String message) throws Exception {
    Answer a = post("/v1/workflows", body);

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).as(a.toString()).contains(message).doesNotContain("com.fasterxml").doesNotContain("SubmitBody")
        .doesNotContain("java.").doesNotContain("`");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void submitOfAnUnknownAppIs400() throws Exception {
    Answer a = post("/v1/workflows", "{\"app\":\"0000\",\"main\":\"com.acme.Main\"}");

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).contains("unknown application 0000").contains("upload the jar first");
  }

  // ---- list, status, history ----

  @Test
  void listFiltersByStateWaitAndLimitNewestFirst() throws Exception {
    cp.running("r-1");
    long r1 = System.currentTimeMillis();
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(1))
        .until(() -> System.currentTimeMillis() > r1); // r-2 created later by the registry's millisecond clock
    cp.running("r-2");
    cp.suspended("t-1", "TIMER", null, WAKE);
    cp.suspended("s-1", "SIGNAL", "approve", null);

    Answer all = get("/v1/workflows");
    Answer timers = get("/v1/workflows?state=suspended&waitingOn=TIMER");
    Answer newest = get("/v1/workflows?state=RUNNING&limit=1");

    assertThat(all.status()).as(all.toString()).isEqualTo(200);
    assertThat(all.json().size()).isEqualTo(4);
    assertThat(timers.json().size()).as(timers.toString()).isEqualTo(1);
    assertThat(timers.json().get(0).path("id").asText()).isEqualTo("t-1");
    assertThat(newest.json().size()).as(newest.toString()).isEqualTo(1);
    assertThat(newest.json().get(0).path("id").asText()).isEqualTo("r-2");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
    "state=sleeping     | unknown state 'sleeping': use one of PENDING, RUNNING, SUSPENDED, COMPLETED, FAILED, CANCELLED",
    "waitingOn=lock     | unknown waitingOn 'lock': use timer or signal",
    "limit=0            | limit must be a whole number from 1 to 1000, got '0'",
    "limit=ten          | limit must be a whole number from 1 to 1000, got 'ten'",
    "limit=5&limit=6    | query parameter 'limit' is given twice: give it once",
    "sort=id            | unknown query parameter 'sort' for GET /v1/workflows: use limit, state, waitingOn"
  })
  void listWithBadQueryIs400(String query, String message) throws Exception {
    Answer a = get("/v1/workflows?" + query);

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).isEqualTo(message);
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void statusIsTheWorkflowViewWithIsoInstants() throws Exception {
    cp.suspended("wf-1", "SIGNAL", "approve", WAKE);

    Answer a = get("/v1/workflows/wf-1");

    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    JsonNode v = a.json();
    assertThat(v.path("id").asText()).isEqualTo("wf-1");
    assertThat(v.path("state").asText()).isEqualTo("SUSPENDED");
    assertThat(v.path("seq").asLong()).isEqualTo(3);
    assertThat(v.path("waitKind").asText()).isEqualTo("SIGNAL");
    assertThat(v.path("waitSignal").asText()).isEqualTo("approve");
    assertThat(v.path("wakeAt").asText()).isEqualTo("2030-01-01T00:00:00Z");
    assertThat(v.path("createdAt").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");
    assertThat(v.path("inMemory").isBoolean()).isTrue();
    assertThat(v.path("imageBytes").asLong()).isEqualTo(12_345_678L);
    assertThat(v.path("pendingSignals").asInt()).isEqualTo(1);
    assertThat(v.path("stack").asText()).contains("com.acme.Main.main");
    assertThat(v.has("exitCode")).isTrue();
    assertThat(v.path("exitCode").isNull()).isTrue();
  }

  @Test
  void statusDecodesPercentEncodedIds() throws Exception {
    cp.running("wf-1");

    Answer a = get("/v1/workflows/wf%2D1");

    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    assertThat(a.json().path("id").asText()).isEqualTo("wf-1");
  }

  @Test
  void statusOfUnknownWorkflowIs404() throws Exception {
    Answer a = get("/v1/workflows/nosuch");

    assertThat(a.status()).as(a.toString()).isEqualTo(404);
    assertThat(a.error()).isEqualTo("no workflow with id nosuch: `torpor list` shows the known ones");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v1/workflows/a%2Fb", "/v1/workflows/%2E%2E/history", "/v1/workflows/a%20b/logs",
    "/v1/workflows/_x", "/v1/workflows//cancel"})
  void invalidWorkflowIdInPathIs400AndReachesNothing(String path) throws Exception {
    Answer a = send(api, path.endsWith("cancel") ? "POST" : "GET", path, BodyPublishers.noBody(), null, null);

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).contains("invalid workflow id").contains(ID_RULE);
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void historyIsAnArrayOfEvents() throws Exception {
    String sha = storeApp();
    post("/v1/workflows", "{\"id\":\"wf-1\",\"app\":\"" + sha + "\",\"main\":\"M\"}");
    cp.gateway.awaitCall("start wf-1");
    postBytes("/v1/workflows/wf-1/signals/go", "yes".getBytes(StandardCharsets.UTF_8));

    Answer a = get("/v1/workflows/wf-1/history");

    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    JsonNode events = a.json();
    assertThat(events.isArray()).isTrue();
    assertThat(events.size()).isEqualTo(3);
    assertThat(events.get(0).path("type").asText()).isEqualTo("SUBMITTED");
    assertThat(events.get(0).path("workflowId").asText()).isEqualTo("wf-1");
    assertThat(events.get(0).path("at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");
    assertThat(events.get(1).path("type").asText()).isEqualTo("STARTED");
    assertThat(events.get(2).path("type").asText()).isEqualTo("SIGNAL_RECEIVED");
    assertThat(events.get(2).path("details").path("signal").asText()).isEqualTo("go");
    assertThat(events.get(2).path("n").asLong()).isGreaterThan(events.get(1).path("n").asLong());
  }

  // ---- logs ----

  @Test
  void logsAnswerRawBytesWithNextOffsetAndFinished() throws Exception {
    cp.running("wf-1");
    byte[] log = {'h', 'i', '\n', (byte) 0xff, 0};
    cp.appendLog("wf-1", log);

    Answer first = get("/v1/workflows/wf-1/logs?offset=0&max=3");
    Answer rest = get("/v1/workflows/wf-1/logs?offset=3");
    cp.finish("wf-1", 0);
    Answer end = get("/v1/workflows/wf-1/logs?offset=5");

    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    assertThat(first.header("Content-Type")).isEqualTo("application/octet-stream");
    assertThat(first.raw().body()).containsExactly('h', 'i', '\n');
    assertThat(first.header("X-Torpor-Next-Offset")).isEqualTo("3");
    assertThat(first.header("X-Torpor-Finished")).isEqualTo("false");
    assertThat(rest.raw().body()).containsExactly((byte) 0xff, 0);
    assertThat(rest.header("X-Torpor-Next-Offset")).isEqualTo("5");
    assertThat(end.raw().body()).isEmpty();
    assertThat(end.header("X-Torpor-Next-Offset")).isEqualTo("5");
    assertThat(end.header("X-Torpor-Finished")).isEqualTo("true");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
    "offset=-1   | offset must be a whole number from 0 to",
    "max=0       | max must be a whole number from 1 to 8388608, got '0'",
    "from=3      | unknown query parameter 'from' for GET /v1/workflows/wf-1/logs: use max, offset"
  })
  void logsWithBadQueryIs400(String query, String message) throws Exception {
    cp.running("wf-1");

    Answer a = get("/v1/workflows/wf-1/logs?" + query);

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).startsWith(message);
    assertThat(cp.calls()).isEmpty();
  }

  // ---- signals ----

  @Test
  void signalIsQueuedWithItsPayload() throws Exception {
    cp.suspended("wf-1", "SIGNAL", "approve", null);
    byte[] payload = {1, 2, 3, (byte) 0xff};

    Answer a = postBytes("/v1/workflows/wf-1/signals/approve", payload);

    assertThat(a.status()).as(a.toString()).isEqualTo(202);
    assertThat(a.json().path("delivered").asText()).isEqualTo("queued");
    assertThat(a.json().path("signal").asLong()).isPositive();
    assertThat(a.json().path("receivedAt").asText()).isNotEmpty();
    assertThat(a.json().path("duplicate").asBoolean(true)).isFalse();
    assertThat(a.json().has("idempotencyKey")).isFalse();
    assertThat(cp.signalKeysSeen()).containsExactly(java.util.Optional.empty());
    // The workflow waits for it: the worker is asked to wake it with this payload.
    cp.gateway.awaitCall("wake wf-1 " + ApiTestPlane.SEQ + " SIGNAL " + new String(payload, StandardCharsets.UTF_8));
    assertThat(cp.gateway.wakeups.get("wf-1").signal().orElseThrow().name()).isEqualTo("approve");
    assertThat(cp.gateway.wakeups.get("wf-1").signal().orElseThrow().payload()).isEqualTo(payload);
    assertThat(cp.receivedSignals()).containsExactly("wf-1:unrelated", "wf-1:approve");
  }

  @Test
  void signalRepeatedUnderItsIdempotencyKeyIsQueuedOnceAndAnsweredTheSame() throws Exception {
    cp.suspended("wf-1", "SIGNAL", "approve", null);
    byte[] payload = "yes".getBytes(StandardCharsets.UTF_8);

    Answer first = send(api, "POST", "/v1/workflows/wf-1/signals/approve", BodyPublishers.ofByteArray(payload),
        "application/octet-stream", null, "Idempotency-Key", "req-42");
    Answer again = send(api, "POST", "/v1/workflows/wf-1/signals/approve", BodyPublishers.ofByteArray(payload),
        "application/octet-stream", null, "Idempotency-Key", "req-42");

    assertThat(first.status()).as(first.toString()).isEqualTo(202);
    assertThat(again.status()).as(again.toString()).isEqualTo(202);
    assertThat(first.json().path("duplicate").asBoolean(true)).isFalse();
    assertThat(again.json().path("duplicate").asBoolean(false)).isTrue();
    assertThat(again.json().path("signal")).isEqualTo(first.json().path("signal"));
    assertThat(again.json().path("receivedAt")).isEqualTo(first.json().path("receivedAt"));
    assertThat(again.json().path("idempotencyKey").asText()).isEqualTo("req-42");
    assertThat(cp.signalKeysSeen()).containsExactly(java.util.Optional.of("req-42"), java.util.Optional.of("req-42"));
    assertThat(cp.receivedSignals()).containsExactly("wf-1:unrelated", "wf-1:approve");
  }

  @Test
  void anotherSignalUnderAUsedIdempotencyKeyIs409() throws Exception {
    cp.running("wf-1");
    send(api, "POST", "/v1/workflows/wf-1/signals/go", BodyPublishers.ofString("a"), "application/octet-stream", null,
        "Idempotency-Key", "k");

    Answer a = send(api, "POST", "/v1/workflows/wf-1/signals/go", BodyPublishers.ofString("b"), "application/octet-stream",
        null, "Idempotency-Key", "k");

    assertThat(a.status()).as(a.toString()).isEqualTo(409);
    assertThat(a.error()).contains("idempotency key 'k' was already used for another signal");
    assertThat(cp.receivedSignals()).containsExactly("wf-1:go");
  }

  @Test
  void aBadIdempotencyKeyIs400AndReachesNothing() throws Exception {
    cp.running("wf-1");

    Answer a = send(api, "POST", "/v1/workflows/wf-1/signals/go", BodyPublishers.ofString("a"), "application/octet-stream",
        null, "Idempotency-Key", "x".repeat(129));

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).contains("invalid idempotency key").contains("1 to 128 printable ASCII characters");
    assertThat(cp.calls()).doesNotContain("signal");
    assertThat(cp.receivedSignals()).isEmpty();
  }

  @Test
  void signalNameIsUrlDecoded() throws Exception {
    cp.running("wf-1");

    Answer a = send(api, "POST", "/v1/workflows/wf-1/signals/new%20order%2F%C3%A9", BodyPublishers.noBody(),
        "application/octet-stream", null);

    assertThat(a.status()).as(a.toString()).isEqualTo(202);
    assertThat(cp.receivedSignals()).containsExactly("wf-1:new order/é");
    assertThat(cp.take("wf-1", "new order/é")).isEmpty();
  }

  @Test
  void signalOfExactlyOneMebibyteIsQueued() throws Exception {
    cp.running("wf-1");

    Answer a = send(api, "POST", "/v1/workflows/wf-1/signals/big", chunked(new byte[1 << 20]), "application/octet-stream",
        null);

    assertThat(a.status()).as(a.toString()).isEqualTo(202);
    assertThat(cp.receivedSignals()).containsExactly("wf-1:big");
    assertThat(cp.take("wf-1", "big")).hasSize(1 << 20);
  }

  @Test
  void signalOverOneMebibyteIs413AndNotQueued() throws Exception {
    cp.running("wf-1");

    Answer a = send(api, "POST", "/v1/workflows/wf-1/signals/big", chunked(new byte[(1 << 20) + 1]),
        "application/octet-stream", null);

    assertThat(a.status()).as(a.toString()).isEqualTo(413);
    assertThat(a.error()).isEqualTo("the payload of signal 'big' is larger than that; the limit is 1048576 bytes (1 MiB):"
        + " keep large data elsewhere and send a reference");
    assertThat(cp.receivedSignals()).isEmpty();
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void signalDeclaringAHugeBodyIs413WithoutReadingIt() throws IOException {
    cp.running("wf-1");

    String answer = rawRequestDeclaring("/v1/workflows/wf-1/signals/big", 10L << 30);

    assertThat(answer).startsWith("HTTP/1.1 413").contains("is 10737418240 bytes; the limit is 1048576 bytes (1 MiB)");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void signalWithATooLongNameIs400() throws Exception {
    cp.running("wf-1");

    Answer a = postBytes("/v1/workflows/wf-1/signals/" + "n".repeat(129), new byte[0]);

    assertThat(a.status()).as(a.toString()).isEqualTo(400);
    assertThat(a.error()).contains("invalid signal name").contains("1 to 128 characters");
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void signalToUnknownOrFinishedWorkflowIs404Or409() throws Exception {
    cp.running("done");
    cp.finish("done", 0);

    Answer unknown = postBytes("/v1/workflows/nosuch/signals/go", new byte[0]);
    Answer finished = postBytes("/v1/workflows/done/signals/go", new byte[0]);

    assertThat(unknown.status()).as(unknown.toString()).isEqualTo(404);
    assertThat(finished.status()).as(finished.toString()).isEqualTo(409);
    assertThat(finished.error()).contains("has finished");
  }

  // ---- cancel, wake ----

  @Test
  void cancelAndWakeAnswerTheirOutcome() throws Exception {
    cp.suspended("t-1", "TIMER", null, WAKE);
    cp.running("r-1");

    Answer wake = postBytes("/v1/workflows/t-1/wake", new byte[0]);
    Answer cancel = postBytes("/v1/workflows/r-1/cancel", new byte[0]);

    assertThat(wake.status()).as(wake.toString()).isEqualTo(200);
    assertThat(wake.body()).isEqualTo("{\"id\":\"t-1\",\"woken\":true}");
    assertThat(cancel.status()).as(cancel.toString()).isEqualTo(200);
    assertThat(cancel.body()).isEqualTo("{\"id\":\"r-1\",\"cancelled\":true}");
    assertThat(get("/v1/workflows/r-1").json().path("state").asText()).isEqualTo("CANCELLED");
  }

  @Test
  void cancelOfAFinishedWorkflowAndWakeOfARunningOneAre409() throws Exception {
    cp.running("r-1");
    cp.running("done");
    cp.finish("done", 1);

    Answer cancel = postBytes("/v1/workflows/done/cancel", new byte[0]);
    Answer wake = postBytes("/v1/workflows/r-1/wake", new byte[0]);

    assertThat(cancel.status()).as(cancel.toString()).isEqualTo(409);
    assertThat(cancel.error()).contains("already finished");
    assertThat(wake.status()).as(wake.toString()).isEqualTo(409);
    assertThat(wake.error()).contains("not waiting on a timer").contains("RUNNING");
  }

  // ---- failures ----

  @Test
  void unexpectedFailureIs500WithoutDetailsAndLogsTheStackTrace() throws Exception {
    cp.failNextCallWith(new IllegalStateException("secret detail"));

    Answer a = get("/v1/workflows");

    assertThat(a.status()).as(a.toString()).isEqualTo(500);
    assertThat(a.error()).isEqualTo("internal server error answering GET /v1/workflows: the server's log has the details");
    assertThat(a.body()).doesNotContain("secret").doesNotContain("IllegalStateException").doesNotContain("at dev.");
    assertThat(serverLog.toString(StandardCharsets.UTF_8))
        .contains("internal error answering GET /v1/workflows")
        .contains("java.lang.IllegalStateException: secret detail")
        .contains("at dev.torpor.launcher.http.HttpApiTest.unexpectedFailureIs500");
  }

  // ---- auth and browsers ----

  @Test
  void theTokenIsRequiredOnEveryRequestLoopbackIncluded() throws Exception {
    Answer none = send(api, "GET", "/v1/health", BodyPublishers.noBody(), null, NO_AUTH);
    Answer wrong = send(api, "GET", "/v1/health", BodyPublishers.noBody(), null, "Bearer " + TOKEN + "X");
    Answer basic = send(api, "GET", "/v1/health", BodyPublishers.noBody(), null, "Basic " + TOKEN);
    Answer unknownPath = send(api, "GET", "/nothing", BodyPublishers.noBody(), null, NO_AUTH);
    Answer right = send(api, "GET", "/v1/health", BodyPublishers.noBody(), null, "Bearer " + TOKEN);
    Answer lowercase = send(api, "GET", "/v1/health", BodyPublishers.noBody(), null, "bearer " + TOKEN);

    for (Answer refused : List.of(none, wrong, basic, unknownPath)) {
      assertThat(refused.status()).as(refused.toString()).isEqualTo(401);
      assertThat(refused.error()).contains("API token").contains("TORPOR_TOKEN").contains("api-token");
      assertThat(refused.header("WWW-Authenticate")).isEqualTo("Bearer realm=\"torpor\"");
    }
    assertThat(right.status()).as(right.toString()).isEqualTo(200);
    assertThat(lowercase.status()).as(lowercase.toString()).isEqualTo(200);
  }

  @Test
  void unauthorizedRequestsChangeNothing() throws Exception {
    cp.running("wf-1");
    cp.running("wf-2");
    String sha = storeApp();
    cp.forgetCalls();

    List<Answer> refused = List.of(
        send(api, "POST", "/v1/workflows/wf-1/signals/go", BodyPublishers.ofString("x"), "application/octet-stream",
            "Bearer nope"),
        send(api, "POST", "/v1/workflows/wf-2/cancel", BodyPublishers.noBody(), null, NO_AUTH),
        send(api, "POST", "/v1/workflows", BodyPublishers.ofString("{\"app\":\"" + sha + "\",\"main\":\"M\"}"),
            "application/json", NO_AUTH),
        send(api, "POST", "/v1/apps", BodyPublishers.ofByteArray(jarBytes()), "application/java-archive", NO_AUTH));

    assertThat(refused).allSatisfy(a -> assertThat(a.status()).as(a.toString()).isEqualTo(401));
    assertThat(cp.calls()).isEmpty();
    assertThat(cp.receivedSignals()).isEmpty();
    assertThat(get("/v1/workflows/wf-2").json().path("state").asText()).isEqualTo("RUNNING");
  }

  @ParameterizedTest
  @ValueSource(strings = {"https://evil.example", "http://127.0.0.1:9", "null"})
  void aRequestFromAWebPageIs403AndChangesNothing(String origin) throws Exception {
    cp.running("wf-1");

    Answer signal = send(api, "POST", "/v1/workflows/wf-1/signals/go", BodyPublishers.ofString("x"),
        "application/octet-stream", null, "Origin", origin);
    Answer list = send(api, "GET", "/v1/workflows", BodyPublishers.noBody(), null, null, "Origin", origin);

    for (Answer a : List.of(signal, list)) {
      assertThat(a.status()).as(a.toString()).isEqualTo(403);
      assertThat(a.error()).contains("web pages are refused").contains(origin).contains("--allow-origin");
    }
    assertThat(cp.receivedSignals()).isEmpty();
    assertThat(cp.calls()).isEmpty();
  }

  @Test
  void anAllowedOriginIsServed() throws Exception {
    ApiAccess access = new ApiAccess(TOKEN, Optional.empty(), List.of("https://ops.example.com"), List.of(), false);
    try (HttpApi open = start(access, HttpApi.MAX_APP_BYTES)) {
      Answer allowed = send(open, "GET", "/v1/health", BodyPublishers.noBody(), null, null, "Origin", "https://OPS.example.com:443");
      Answer other = send(open, "GET", "/v1/health", BodyPublishers.noBody(), null, null, "Origin", "https://ops.example.com:8443");

      Answer preflight = send(open, "OPTIONS", "/v1/workflows", BodyPublishers.noBody(), null, NO_AUTH,
          "Origin", "https://ops.example.com", "Access-Control-Request-Method", "POST");
      Answer strangerPreflight = send(open, "OPTIONS", "/v1/workflows", BodyPublishers.noBody(), null, NO_AUTH,
          "Origin", "https://evil.example", "Access-Control-Request-Method", "POST");

      assertThat(allowed.status()).as(allowed.toString()).isEqualTo(200);
      assertThat(allowed.header("Access-Control-Allow-Origin")).isEqualTo("https://OPS.example.com:443");
      assertThat(other.status()).as(other.toString()).isEqualTo(403);
      assertThat(other.header("Access-Control-Allow-Origin")).isNull();
      assertThat(preflight.status()).as(preflight.toString()).isEqualTo(204);
      assertThat(preflight.header("Access-Control-Allow-Headers")).contains("Authorization");
      assertThat(strangerPreflight.status()).as(strangerPreflight.toString()).isEqualTo(403);
      assertThat(cp.calls()).isEmpty();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"evil.example", "rebind.attacker.test:PORT", "127.0.0.1:1", "localhost.evil.test:PORT"})
  void aRequestForAnotherHostIs403AndChangesNothing(String host) throws Exception {
    cp.running("wf-1");

    String answer = raw("POST /v1/workflows/wf-1/cancel HTTP/1.1\r\nHost: " + host.replace("PORT", "" + api.port())
        + "\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Length: 0\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 403").contains("is not this server").contains("--allow-host");
    assertThat(cp.calls()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1:PORT", "localhost:PORT", "LOCALHOST:PORT", "[::1]:PORT"})
  void theServersOwnNamesAreAccepted(String host) throws Exception {
    String answer = raw("GET /v1/health HTTP/1.1\r\nHost: " + host.replace("PORT", "" + api.port())
        + "\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 200");
  }

  @Test
  void aJarOrSignalWithAnotherContentTypeIs415AndChangesNothing() throws Exception {
    cp.running("wf-1");

    Answer jarAsText = send(api, "POST", "/v1/apps", BodyPublishers.ofByteArray(jarBytes()), "text/plain", null);
    Answer jarUntyped = send(api, "POST", "/v1/apps", BodyPublishers.ofByteArray(jarBytes()), null, null);
    Answer signalAsForm = send(api, "POST", "/v1/workflows/wf-1/signals/go", BodyPublishers.ofString("a=b"),
        "application/x-www-form-urlencoded", null);

    assertThat(jarAsText.status()).as(jarAsText.toString()).isEqualTo(415);
    assertThat(jarAsText.error()).contains("application/java-archive");
    assertThat(jarUntyped.status()).as(jarUntyped.toString()).isEqualTo(415);
    assertThat(signalAsForm.status()).as(signalAsForm.toString()).isEqualTo(415);
    assertThat(signalAsForm.error()).contains("application/octet-stream");
    assertThat(cp.apps()).doesNotContainKey(ApiTestPlane.sha256(jarBytes()));
    assertThat(cp.receivedSignals()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"0.0.0.0", "192.0.2.10", "::"})
  void aNonLoopbackBindWithoutTlsIsRefusedAtConstruction(String address) {
    InetSocketAddress bind = new InetSocketAddress(address, 7777);

    assertThatThrownBy(() -> new HttpApi(cp, images, bind, ApiAccess.token(TOKEN)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("in clear").hasMessageContaining("--tls-cert").hasMessageContaining("--allow-plain-http");
  }

  @Test
  void anyAddressWithPlainHttpExplicitlyAllowedStillWantsTheToken() throws Exception {
    ApiAccess plain = new ApiAccess("wide-token", Optional.empty(), List.of(), List.of(), true);
    // Bound to every interface, but only ever contacted through loopback.
    try (HttpApi wide = new HttpApi(cp, images, new InetSocketAddress("0.0.0.0", 0), plain).start()) {
      Answer none = send(wide, "GET", "/v1/health", BodyPublishers.noBody(), null, NO_AUTH);
      Answer right = send(wide, "GET", "/v1/health", BodyPublishers.noBody(), null, "Bearer wide-token");

      assertThat(none.status()).as(none.toString()).isEqualTo(401);
      assertThat(right.status()).as(right.toString()).isEqualTo(200);
    }
  }

  private String raw(String request) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), api.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      s.shutdownOutput();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void portBeforeStartAndStartTwiceAreRefused() throws IOException {
    HttpApi fresh = new HttpApi(cp, images, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ApiAccess.token(TOKEN));

    assertThatThrownBy(fresh::port).isInstanceOf(IllegalStateException.class).hasMessageContaining("not started");
    try (HttpApi started = fresh.start()) {
      assertThat(started.port()).isPositive();
      assertThatThrownBy(started::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("already started");
    }
  }

  /**
   * Issue #12, defect 8: slow clients that hold every handler thread and fill the queue do not
   * stop the API: the next requests are answered 503 at once (never run on the accepting thread,
   * which a trickling body would block), and the API serves again once the slow clients go.
   */
  @Test
  void slowClientsFillingEveryThreadGetOthersA503NotAStalledApi() throws Exception {
    HttpApi small = new HttpApi(cp, images, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
        ApiAccess.token(TOKEN), HttpApi.MAX_APP_BYTES, new PrintStream(serverLog, true, StandardCharsets.UTF_8), 1, 1).start();
    List<java.net.Socket> slow = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) { // one in the handler, one queued, one turned away mid-body
        java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), small.port());
        s.getOutputStream().write(("POST /v1/apps HTTP/1.1\r\nHost: 127.0.0.1:" + small.port() + "\r\nAuthorization: Bearer "
            + TOKEN + "\r\nContent-Type: application/java-archive\r\nContent-Length: 100000\r\n\r\nPK")
            .getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        slow.add(s);
        int taken = i + 1; // in the handler, in the queue, or with an overflow thread
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
            .until(() -> small.exchangesTaken() == taken);
      }
      long t0 = System.nanoTime();
      Answer busy = send(small, "GET", "/v1/workflows", BodyPublishers.noBody(), null, null);
      assertThat(busy.status()).as(busy.toString()).isEqualTo(503);
      assertThat(busy.header("Retry-After")).isEqualTo("1");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    } finally {
      for (java.net.Socket s : slow) {
        s.close();
      }
    }
    await().atMost(Duration.ofSeconds(20)).until(
        () -> send(small, "GET", "/v1/workflows", BodyPublishers.noBody(), null, null).status() == 200);
    small.close();
  }
}
