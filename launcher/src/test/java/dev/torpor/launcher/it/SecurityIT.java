package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.internal.ImageFiles;
import dev.torpor.launcher.internal.Scratch;
import dev.torpor.launcher.internal.WorkflowUser;
import dev.torpor.launcher.it.ServerProcess.Result;
import dev.torpor.launcher.it.workflows.Inspector;
import dev.torpor.launcher.it.workflows.Sleeper;
import dev.torpor.scheduler.PostgresProcess;
import dev.torpor.scheduler.TestCerts;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.LocalDirectoryImageStore;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What Torpor promises a hostile local user, a hostile web page and workflow code, shown on real
 * processes: a server as root with secrets in its environment and an image key, the CLI run as
 * the unprivileged user {@code nobody}, workflows checkpointed and restored by CRIU as their own
 * unprivileged user, servers refusing hostile directories, and TLS to the API and to PostgreSQL.
 */
class SecurityIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int NOBODY = 65534;
  /** Planted in the server's environment: no workflow may see it, no image may hold it. */
  private static final String SECRET = "hunter2-" + UUID.randomUUID();
  private static final String MARKER = UUID.randomUUID().toString();
  private static final Set<String> ALLOWED_ENV = Set.of("PATH", "LANG", "TZ", "HOME", "TMPDIR", "TORPOR_WORKFLOW_ID",
      "TORPOR_RUN_DIR", "PLAN");

  private static ServerProcess server;
  private static Path keys;
  private static Path jar;
  /** The CLI's jar and the workflows' jar where {@code nobody} may read them. */
  private static Path publicCli;
  private static Path publicJar;

  @BeforeAll
  static void start() throws Exception {
    server = new ServerProcess("--quiet");
    keys = server.base.resolve("image.keys");
    Files.writeString(keys, ImageKeyring.generate() + "\n");
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-------"));
    server.args("--quiet", "--image-key-file", keys.toString())
        .env("SUPER_SECRET", SECRET).env("AWS_SECRET_ACCESS_KEY", SECRET).env("TORPOR_DB_PASSWORD", SECRET).start();
    jar = ServerProcess.workflowJar(server.base);
    publicCli = Files.copy(Path.of(ServerProcess.cliJar()), server.base.resolve("cli.jar"));
    publicJar = Files.copy(jar, server.base.resolve("public-workflows.jar"));
    for (Path p : List.of(publicCli, publicJar)) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  /** Runs a command as {@code nobody}, with only the environment given. */
  private static Result asNobody(Map<String, String> env, String... cmd) throws Exception {
    List<String> full = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--"));
    full.addAll(List.of(cmd));
    return server.exec(full, env);
  }

  private static Result cliAsNobody(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(ServerProcess.java(), "-jar", publicCli.toString()));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--server", server.url()));
    // TORPOR_DATA points the CLI at the server's data directory, whose token it may not read.
    return asNobody(Map.of("TORPOR_DATA", server.data.toString()), cmd.toArray(String[]::new));
  }

  private static String state(String id) throws Exception {
    return JSON.readTree(server.get("/v1/workflows/" + id).body()).path("state").asText();
  }

  private static JsonNode history(String id) throws Exception {
    return JSON.readTree(server.get("/v1/workflows/" + id + "/history").body());
  }

  private static void awaitState(String id, String state) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> state.equals(state(id)));
  }

  private static String submit(String id, Class<?> main, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("submit", "--jar", jar.toString(), "--main", main.getName(), "--id", id));
    cmd.add("--");
    cmd.addAll(List.of(args));
    Result r = server.cli(cmd.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.err()).isZero();
    return id;
  }

  private static HttpResponse<String> unauthenticated(String method, String path, String contentType, byte[] body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(java.net.URI.create(server.url() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void withoutTheTokenALocalUserGetsNothingDoneAndIsToldHowToGetAccess() throws Exception {
    submit("guarded", Sleeper.class, "3600");
    awaitState("guarded", "SUSPENDED");
    int events = history("guarded").size();
    int workflows = JSON.readTree(server.get("/v1/workflows").body()).size();
    Path token = server.tokenFile();

    // The token file is the server's alone.
    assertThat(Files.getPosixFilePermissions(token)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    Result cat = asNobody(Map.of(), "cat", token.toString());
    assertThat(cat.exitCode()).as("nobody reads the token file").isNotZero();
    assertThat(cat.out()).isEmpty();

    // The CLI as nobody: refused, saying where the token is and whom to ask.
    for (String[] args : List.of(new String[] {"list"}, new String[] {"status", "guarded"},
        new String[] {"signal", "guarded", "go", "x"}, new String[] {"cancel", "guarded"}, new String[] {"wake", "guarded"},
        new String[] {"submit", "--jar", publicJar.toString(), "--main", Sleeper.class.getName(), "--id", "intruder"})) {
      Result r = cliAsNobody(args);
      assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(6);
      assertThat(r.err()).contains("you may not read " + token).contains("ask its operator").contains("TORPOR_TOKEN");
    }

    // Every endpoint, without the token: 401.
    Map<String, String[]> calls = new LinkedHashMap<>();
    calls.put("GET /v1/health", null);
    calls.put("GET /v1/workflows", null);
    calls.put("GET /v1/workflows/guarded", null);
    calls.put("GET /v1/workflows/guarded/history", null);
    calls.put("GET /v1/workflows/guarded/logs", null);
    calls.put("POST /v1/workflows/guarded/signals/go", new String[] {"application/octet-stream", "x"});
    calls.put("POST /v1/workflows/guarded/cancel", new String[] {null, ""});
    calls.put("POST /v1/workflows/guarded/wake", new String[] {null, ""});
    calls.put("POST /v1/workflows", new String[] {"application/json", "{\"app\":\"0\",\"main\":\"M\",\"id\":\"intruder\"}"});
    calls.put("POST /v1/apps", new String[] {"application/java-archive", "PK\u0003\u0004"});
    calls.put("POST /v1/images/gc", new String[] {null, ""});
    for (var call : calls.entrySet()) {
      String[] mp = call.getKey().split(" ");
      String[] body = call.getValue();
      HttpResponse<String> r = unauthenticated(mp[0], mp[1], body == null ? null : body[0],
          body == null ? null : body[1].getBytes(StandardCharsets.UTF_8));
      assertThat(r.statusCode()).as(call.getKey() + ": " + r.body()).isEqualTo(401);
    }

    // ... and nothing changed.
    assertThat(state("guarded")).isEqualTo("SUSPENDED");
    assertThat(history("guarded").size()).isEqualTo(events);
    assertThat(JSON.readTree(server.get("/v1/workflows").body()).size()).isEqualTo(workflows);
    assertThat(server.get("/v1/workflows/intruder").statusCode()).isEqualTo(404);
    assertThat(server.cli("cancel", "guarded").exitCode()).isZero();
  }

  @Test
  void webPagesForeignHostsAndUntypedBodiesAreRefusedAndChangeNothing() throws Exception {
    submit("browsed", Sleeper.class, "3600");
    awaitState("browsed", "SUSPENDED");
    int events = history("browsed").size();
    String auth = "Authorization: Bearer " + server.token() + "\r\n";
    String host = "Host: 127.0.0.1:" + server.port + "\r\n";

    String fromPage = raw("POST /v1/workflows/browsed/cancel HTTP/1.1\r\n" + host + auth
        + "Origin: https://evil.example\r\nContent-Length: 0\r\n\r\n");
    String rebound = raw("POST /v1/workflows/browsed/wake HTTP/1.1\r\nHost: rebind.evil.example:" + server.port
        + "\r\n" + auth + "Content-Length: 0\r\n\r\n");
    String plainText = raw("POST /v1/workflows/browsed/signals/go HTTP/1.1\r\n" + host + auth
        + "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\nx");
    String untypedJson = raw("POST /v1/workflows HTTP/1.1\r\n" + host + auth
        + "Content-Length: 31\r\n\r\n{\"app\":\"0\",\"main\":\"M\",\"id\":\"x\"}");
    String jarAsForm = raw("POST /v1/apps HTTP/1.1\r\n" + host + auth
        + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nPK\u0003\u0004");

    assertThat(fromPage).startsWith("HTTP/1.1 403").contains("web pages are refused");
    assertThat(rebound).startsWith("HTTP/1.1 403").contains("is not this server");
    assertThat(plainText).startsWith("HTTP/1.1 415").contains("application/octet-stream");
    assertThat(untypedJson).startsWith("HTTP/1.1 415").contains("application/json");
    assertThat(jarAsForm).startsWith("HTTP/1.1 415").contains("application/java-archive");
    assertThat(state("browsed")).isEqualTo("SUSPENDED");
    assertThat(history("browsed").size()).isEqualTo(events);
    assertThat(server.get("/v1/workflows/x").statusCode()).isEqualTo(404);
    assertThat(server.cli("cancel", "browsed").exitCode()).isZero();
  }

  private static String raw(String request) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      s.shutdownOutput();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void workflowsRunUnprivilegedSeeNothingOfTheWorkerAndTheirImagesHoldNoSecret() throws Exception {
    submit("neighbour", Sleeper.class, "3600");
    awaitState("neighbour", "SUSPENDED");
    Path neighbourRun = runDir("neighbour");
    assertThat(neighbourRun).isDirectory();
    String[] probes = {server.tokenFile().toString(), keys.toString(), neighbourRun.toString(),
        neighbourRun.resolve("tmp").toString(), server.data.toString(), server.runBase.toString(), "/root", "/dev/shm"};
    List<String> args = new ArrayList<>(List.of("submit", "--jar", jar.toString(), "--main", Inspector.class.getName(),
        "--id", "inspector", "--env", "PLAN=annual", "--", MARKER));
    args.addAll(List.of(probes));
    assertThat(server.cli(args.toArray(String[]::new)).exitCode()).isZero();
    awaitState("inspector", "SUSPENDED");

    // The frozen image, decrypted with the server's key: CRIU's files hold the workflow's heap
    // (the marker it keeps) and nothing of the server's environment.
    ImageKey key = new ImageKey("inspector", 1);
    Map<String, byte[]> image = criuFiles(key);
    assertThat(image).containsKey("pages-1.img");
    assertThat(contains(image, "INSPECTOR-HEAP-" + MARKER)).as("the workflow's own heap is in the image").isTrue();
    assertThat(contains(image, SECRET)).as("the server's secret is not in the image").isFalse();
    assertThat(contains(image, "SUPER_SECRET")).as("nor the name of its variable").isFalse();

    assertThat(server.cli("signal", "inspector", "go", "now").exitCode()).isZero();
    awaitState("inspector", "COMPLETED");
    List<String> log = server.cli("logs", "inspector").out().lines().toList();

    for (String phase : List.of("before", "after")) {
      String ids = line(log, phase + " ids ");
      int uid = WorkflowUser.DEFAULT.uid();
      assertThat(ids).as(phase).contains("Uid: " + uid + " " + uid + " " + uid + " " + uid)
          .contains("Gid: " + WorkflowUser.DEFAULT.gid()).contains("CapEff: 0000000000000000").doesNotContain("Uid: 0");
      for (String denied : List.of(server.tokenFile().toString(), keys.toString(), neighbourRun.toString(),
          neighbourRun.resolve("tmp").toString(), server.data.toString(), "/root", "/dev/shm")) {
        assertThat(line(log, phase + " probe " + denied + " ")).as(phase + " " + denied).contains("DENIED");
      }
      // The run base shows the workflow its own run directory and its class path copies, nothing else.
      String own = runDir("inspector").getFileName().toString();
      assertThat(line(log, phase + " probe " + server.runBase + " ")).isEqualTo(phase + " probe " + server.runBase
          + " READ " + String.join(",", new TreeSet<>(List.of(own, "lib"))));
      Set<String> env = new TreeSet<>(List.of(line(log, phase + " env ").substring((phase + " env ").length()).split(",")));
      assertThat(env).as(phase).isSubsetOf(ALLOWED_ENV).contains("PLAN", "PATH", "HOME")
          .doesNotContain("SUPER_SECRET", "AWS_SECRET_ACCESS_KEY", "TORPOR_DB_PASSWORD");
      assertThat(log).contains(phase + " env PLAN=annual");
    }
    assertThat(String.join("\n", log)).doesNotContain(SECRET);

    // What it wrote belongs to it, in its own run directory.
    assertThat((Integer) Files.getAttribute(runDir("inspector"), "unix:uid")).isEqualTo(WorkflowUser.DEFAULT.uid());
    assertThat(server.cli("cancel", "neighbour").exitCode()).isZero();
  }

  private static String line(List<String> log, String prefix) {
    return log.stream().filter(l -> l.startsWith(prefix)).findFirst()
        .orElseThrow(() -> new AssertionError("no line '" + prefix + "...' in " + log));
  }

  private static Path runDir(String id) throws Exception {
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8)));
    return server.runBase.resolve(hash.substring(0, 16));
  }

  /** CRIU's files of an image in the server's store, decrypted and rebuilt (either format), read into memory. */
  private static Map<String, byte[]> criuFiles(ImageKey key) throws IOException {
    LocalDirectoryImageStore store = new LocalDirectoryImageStore(server.data.resolve("store"));
    ImageManifest m = store.manifest(key).orElseThrow();
    Path dir = Files.createTempDirectory(server.data, "inspect-").resolve("image");
    ImageFiles.unpack(store, m, Optional.of(ImageKeyring.fromFile(keys)), dir);
    Map<String, byte[]> files = new LinkedHashMap<>();
    try (var list = Files.list(dir)) {
      for (Path f : list.sorted().toList()) {
        files.put(f.getFileName().toString(), Files.readAllBytes(f));
      }
    }
    return files;
  }

  private static boolean contains(Map<String, byte[]> files, String text) {
    byte[] needle = text.getBytes(StandardCharsets.UTF_8);
    for (byte[] hay : files.values()) {
      outer:
      for (int i = 0; i + needle.length <= hay.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (hay[i + j] != needle[j]) {
            continue outer;
          }
        }
        return true;
      }
    }
    return false;
  }

  @Test
  void theServersDirectoriesArePrivateAndHostileOnesAreRefused() throws Exception {
    submit("modes", Sleeper.class, "3600");
    awaitState("modes", "SUSPENDED");
    assertThat(mode(server.data)).isEqualTo("rwx------");
    assertThat(mode(server.data.resolve("logs"))).isEqualTo("rwx------");
    assertThat(mode(server.data.resolve("store"))).isEqualTo("rwx------");
    Path scratch = Scratch.current(Scratch.defaultBase(server.data), server.data).orElseThrow();
    assertThat(mode(scratch)).isEqualTo("rwx------");
    assertThat(scratch.getFileName().toString()).matches("torpor-[0-9a-f]{12}-\\d+");
    assertThat(mode(server.runBase)).isEqualTo("rwx--x---");
    assertThat((Integer) Files.getAttribute(server.runBase, "unix:gid")).isEqualTo(WorkflowUser.DEFAULT.namespaceRootGid());
    assertThat(mode(runDir("modes"))).isEqualTo("rwx------");
    try (var images = Files.walk(server.data.resolve("store/images"))) {
      List<Path> files = images.filter(Files::isRegularFile).toList();
      assertThat(files).isNotEmpty().allSatisfy(f -> assertThat(mode(f)).as(f.toString()).isEqualTo("rw-------"));
    }
    assertThat(server.cli("cancel", "modes").exitCode()).isZero();

    // Each hostile path is refused, naming it; nothing is written through it.
    Path elsewhere = Files.createDirectories(server.base.resolve("elsewhere"));
    refused(hostile -> link(hostile.data, elsewhere), s -> s.data, "is a symbolic link");
    refused(hostile -> chown(hostile.data, NOBODY), s -> s.data, "belongs to uid " + NOBODY);
    refused(hostile -> {
      Files.createDirectories(hostile.runBase);
      Files.setPosixFilePermissions(hostile.runBase, PosixFilePermissions.fromString("rwxrwxrwx"));
    }, s -> s.runBase, "can be written by every user");
    refused(hostile -> link(hostile.runBase, elsewhere), s -> s.runBase, "is a symbolic link");
    refused(hostile -> chown(Files.createDirectories(hostile.data.resolve("store")), NOBODY), s -> s.data.resolve("store"),
        "belongs to uid " + NOBODY);
    try (var left = Files.list(elsewhere)) {
      assertThat(left.toList()).as("nothing was written through a link").isEmpty();
    }
  }

  private interface Setup {
    void prepare(ServerProcess hostile) throws IOException;
  }

  private static void refused(Setup setup, java.util.function.Function<ServerProcess, Path> path, String why)
      throws Exception {
    try (ServerProcess hostile = new ServerProcess("--quiet")) {
      setup.prepare(hostile);
      Result r = hostile.startRefused();
      assertThat(r.exitCode()).as(r.err()).isNotZero();
      assertThat(r.err()).contains(path.apply(hostile).toString()).contains(why);
    }
  }

  private static void link(Path at, Path target) throws IOException {
    if (Files.isDirectory(at, LinkOption.NOFOLLOW_LINKS)) {
      Files.delete(at);
    }
    Files.createSymbolicLink(at, target);
  }

  private static Path chown(Path dir, int uid) throws IOException {
    Files.setAttribute(dir, "unix:uid", uid);
    return dir;
  }

  private static String mode(Path p) {
    try {
      return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void theCliTrustsOnlyItsCaAndAWorkerTalksToPostgresOverVerifiedTls() throws Exception {
    Path dir = TestDirs.traversable("torpor-tls-");
    TestCerts certs = TestCerts.make(dir, "torpor");
    TestCerts stranger = TestCerts.make(dir, "stranger");
    try (ServerProcess tls = new ServerProcess("--quiet").tls(certs)) {
      tls.start();
      Result trusted = tls.cli("list");
      assertThat(trusted.exitCode()).as(trusted.err()).isZero();
      Result wrongCa = tls.cliBare("list", "--server", tls.url(), "--ca-file", stranger.ca().toString());
      assertThat(wrongCa.exitCode()).as(wrongCa.err()).isEqualTo(5);
      assertThat(wrongCa.err()).contains("no trusted TLS connection").contains("--ca-file");
      Result noCa = tls.cliBare("list", "--server", tls.url());
      assertThat(noCa.exitCode()).as(noCa.err()).isEqualTo(5);
      Result plain = tls.cliBare("list", "--server", "http://127.0.0.1:" + tls.port);
      assertThat(plain.exitCode()).as(plain.err()).isNotZero();
    }

    try (PostgresProcess pg = new PostgresProcess(certs)) {
      String db = pg.createDatabase("tlsworker");
      List<String> common = List.of("--quiet", "--db-url", db, "--db-user", "postgres", "--store",
          dir.resolve("store").toString(), "--run-dir", dir.resolve("run").toString());
      WorkerProcess good = new WorkerProcess("good", dir, ServerProcess.java(), Map.of(),
          concat(common, List.of("--ca-file", certs.ca().toString())).toArray(String[]::new));
      try {
        good.start();
        assertThat(good.err()).contains("joined as");
      } finally {
        good.kill9();
      }
      WorkerProcess wrong = new WorkerProcess("wrong", dir, ServerProcess.java(), Map.of(),
          concat(common, List.of("--ca-file", stranger.ca().toString())).toArray(String[]::new));
      assertThat(wrong.startRefused()).as(wrong.err()).isNotZero();
      assertThat(wrong.err()).containsAnyOf("PKIX", "certification path", "SSL");
      List<String> noTls = new ArrayList<>(common);
      noTls.set(noTls.indexOf(db), db + "?sslmode=disable");
      WorkerProcess cleartext = new WorkerProcess("cleartext", dir, ServerProcess.java(), Map.of(),
          noTls.toArray(String[]::new));
      assertThat(cleartext.startRefused()).as("the database takes TLS only").isNotZero();
      assertThat(cleartext.err()).contains("no encryption");
    } finally {
      TestDirs.deleteTree(dir);
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
