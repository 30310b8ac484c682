package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.internal.Scratch;
import dev.torpor.launcher.it.ServerProcess.Result;
import dev.torpor.launcher.it.workflows.Sleeper;
import dev.torpor.launcher.it.workflows.TwoSameSignals;
import dev.torpor.storage.S3ProxyProcess;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code torpor server} with its images in S3: a real S3-compatible server (S3Proxy) as its own
 * process, signed requests over HTTP, the AWS CLI reading what Torpor wrote, and the faults a
 * bucket brings (outage, corruption, wrong credentials or keys).
 */
class S3ImagesIT {
  private static final String BUCKET = "torpor-images";
  private static final String AWS = "/usr/bin/aws";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static S3ProxyProcess s3;
  private static Path dir;
  private static Path keys;
  private static Path jar;

  @BeforeAll
  static void startS3() throws IOException {
    s3 = S3ProxyProcess.launch();
    s3.createBucket(BUCKET);
    dir = Files.createTempDirectory(Path.of("/tmp"), "torpor-s3it-");
    keys = dir.resolve("image.keys");
    Files.writeString(keys, ImageKeyring.generate() + "\n");
    Files.setPosixFilePermissions(keys, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    jar = ServerProcess.workflowJar(dir);
  }

  @AfterAll
  static void stopS3() throws IOException {
    if (s3 != null) {
      s3.close();
    }
    if (dir != null) {
      TestDirs.deleteTree(dir);
    }
  }

  /** A server whose store is {@code s3://torpor-images/<prefix>}, with S3Proxy's credentials. */
  private static ServerProcess server(String prefix, String... extra) throws IOException {
    return new ServerProcess(s3Args(prefix, extra))
        .env("AWS_ACCESS_KEY_ID", s3.accessKey())
        .env("AWS_SECRET_ACCESS_KEY", s3.secretKey());
  }

  /** The arguments of a server on {@code s3://torpor-images/<prefix>}: with the test's image key unless {@code extra} names one. */
  private static String[] s3Args(String prefix, String... extra) {
    List<String> args = new ArrayList<>(List.of(plainS3Args(prefix)));
    if (!List.of(extra).contains("--image-key-file") && !List.of(extra).contains("--allow-unencrypted-images")) {
      args.addAll(List.of("--image-key-file", keys.toString()));
    }
    args.addAll(List.of(extra));
    return args.toArray(String[]::new);
  }

  private static String[] plainS3Args(String prefix) {
    return new String[] {"--quiet", "--store", "s3://" + BUCKET + "/" + prefix, "--s3-endpoint", s3.endpoint().toString(),
        "--s3-region", "us-east-1"};
  }

  private static Result aws(String... args) throws IOException, InterruptedException {
    assertThat(Path.of(AWS)).as("the AWS CLI (Debian's awscli; scripts/test.sh installs it)").isExecutable();
    List<String> cmd = new ArrayList<>(List.of(AWS, "--endpoint-url", s3.endpoint().toString(), "--region", "us-east-1",
        "--no-cli-pager"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("AWS_ACCESS_KEY_ID", s3.accessKey());
    pb.environment().put("AWS_SECRET_ACCESS_KEY", s3.secretKey());
    pb.environment().put("AWS_CONFIG_FILE", "/dev/null");
    pb.environment().put("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    Path out = Files.createTempFile(dir, "aws", ".out");
    Path err = Files.createTempFile(dir, "aws", ".err");
    try {
      Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("aws " + List.of(args) + " finished").isTrue();
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static void awaitState(ServerProcess server, String id, String state) {
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).until(() -> {
      JsonNode s = JSON.readTree(server.cli("status", id, "--output", "json").out());
      return state.equals(s.path("state").asText());
    });
  }

  private static long historyCount(ServerProcess server, String id, String type) throws Exception {
    JsonNode h = JSON.readTree(server.get("/v1/workflows/" + id + "/history").body());
    long n = 0;
    for (JsonNode e : h) {
      n += type.equals(e.path("type").asText()) ? 1 : 0;
    }
    return n;
  }

  private static String history(ServerProcess server, String id) throws Exception {
    return server.get("/v1/workflows/" + id + "/history").body();
  }

  /** The object S3Proxy keeps on disk for a key of the bucket. */
  private static Path objectFile(String key) {
    return s3.basedir().resolve(BUCKET).resolve(key);
  }

  @Test
  void encryptedImagesAreOrdinaryS3ObjectsAndResumeOnAWorkerWithNoLocalCopy() throws Exception {
    try (ServerProcess server = server("e2e", "--image-key-file", keys.toString())) {
      server.start();
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(), "--id", "steps")
          .exitCode()).isZero();
      awaitState(server, "steps", "SUSPENDED");

      // The AWS CLI sees ordinary objects: the data and, beside it, the manifest naming its SHA-256.
      String prefix = "e2e/images/steps/" + String.format("%020d", 1);
      Result ls = aws("s3", "ls", "--recursive", "s3://" + BUCKET + "/e2e/images/steps/");
      assertThat(ls.exitCode()).as(ls.err()).isZero();
      assertThat(ls.out()).contains(prefix + ".tar.zst").contains(prefix + ".manifest.json");
      Path down = Files.createTempDirectory(server.data, "aws-");
      assertThat(aws("s3", "cp", "--only-show-errors", "s3://" + BUCKET + "/" + prefix + ".tar.zst",
          down.resolve("data").toString()).exitCode()).isZero();
      assertThat(aws("s3", "cp", "--only-show-errors", "s3://" + BUCKET + "/" + prefix + ".manifest.json",
          down.resolve("manifest.json").toString()).exitCode()).isZero();
      JsonNode manifest = JSON.readTree(down.resolve("manifest.json").toFile());
      // A chunked image: its frames, then its index, whose SHA-256 the manifest holds.
      byte[] data = Files.readAllBytes(down.resolve("data"));
      assertThat(manifest.path("format").asInt()).isEqualTo(2);
      assertThat(manifest.path("packedBytes").asLong()).isEqualTo(data.length);
      int indexOffset = manifest.path("chunks").path("indexOffset").asInt();
      assertThat(indexOffset).isPositive().isLessThan(data.length);
      assertThat(manifest.path("sha256").asText()).isEqualTo(HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(Arrays.copyOfRange(data, indexOffset, data.length))));
      assertThat(manifest.path("chunks").path("packs").toString()).isEqualTo("[1]");
      assertThat(manifest.path("encryption").path("scheme").asText()).isEqualTo("AES256_GCM_HKDF_1MB");
      assertThat(manifest.path("encryption").path("keyId").asText()).isEqualTo(ImageKeyring.fromFile(keys).currentKeyId());
      assertThat(manifest.path("mac").asText()).hasSize(64);
      byte[] head = Arrays.copyOf(Files.readAllBytes(down.resolve("data")), 4);
      assertThat(head).as("ciphertext, not a zstd frame").isNotEqualTo(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd});

      // A worker with no local copy: the server dies, its scratch space goes, nothing is in <data>.
      Path scratch = Scratch.current(Scratch.defaultBase(server.data), server.data).orElseThrow();
      server.kill9();
      TestDirs.deleteTree(scratch);
      assertThat(server.data.resolve("store")).doesNotExist();
      server.start();
      assertThat(server.cli("signal", "steps", "step", "one").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
          .until(() -> historyCount(server, "steps", "SUSPENDED") == 2);
      assertThat(server.cli("signal", "steps", "step", "two").exitCode()).isZero();
      awaitState(server, "steps", "COMPLETED");
      assertThat(server.cli("logs", "steps").out()).isEqualTo("first: one\nsecond: two\n");
      assertThat(historyCount(server, "steps", "RESUMED")).isEqualTo(2);
      Result status = server.cli("status", "steps");
      assertThat(status.out()).as(status.out()).contains("images:          1 in the store");
    }
  }

  @Test
  void anImageUnderAnUnknownKeyIsRefusedClearlyAndResumesOnceTheKeyIsBack() throws Exception {
    String current = Files.readString(keys).strip();
    String newer = ImageKeyring.generate();
    Path onlyNewer = keys.resolveSibling("newer.keys");
    Path rotated = keys.resolveSibling("rotated.keys");
    Files.writeString(onlyNewer, newer + "\n");
    Files.writeString(rotated, "# the current key first, then the ones older images need\n" + newer + "\n" + current + "\n");
    for (Path f : List.of(onlyNewer, rotated)) {
      Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }
    try (ServerProcess server = server("rotate", "--image-key-file", keys.toString())) {
      server.start();
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(), "--id", "keyed")
          .exitCode()).isZero();
      awaitState(server, "keyed", "SUSPENDED");
      server.kill9();

      // Restarted with another key only: the wake is refused, naming the key the image needs.
      server.args(s3Args("rotate", "--image-key-file", onlyNewer.toString())).start();
      assertThat(server.cli("signal", "keyed", "step", "one").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "keyed", "RESTORE_FAILED") >= 1);
      String refused = history(server, "keyed");
      String state = server.get("/v1/workflows/keyed").body();
      server.kill9(); // before the retries run out
      assertThat(refused).contains(ImageKeyring.fromFile(keys).currentKeyId()).containsIgnoringCase("key");
      assertThat(state).contains("\"state\":\"SUSPENDED\"");

      // Rotated: the newer key writes, the older one still reads.
      server.args(s3Args("rotate", "--image-key-file", rotated.toString())).start();
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
          .until(() -> historyCount(server, "keyed", "SUSPENDED") == 2);
      assertThat(server.cli("signal", "keyed", "step", "two").exitCode()).isZero();
      awaitState(server, "keyed", "COMPLETED");
      assertThat(server.cli("logs", "keyed").out()).isEqualTo("first: one\nsecond: two\n");
      JsonNode h = JSON.readTree(history(server, "keyed"));
      assertThat(h.toString()).contains(ImageKeyring.fromFile(rotated).currentKeyId());
    }
  }

  @Test
  void anS3OutageDuringTheUploadIsRiddenOutAndNoImageIsLost() throws Exception {
    try (ServerProcess server = server("outage", "--store-retry", "120s")) {
      server.start();
      s3.stop();
      try {
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", "outage",
            "--", "3").exitCode()).isZero();
        // The commit is refused and retried while S3 is down; the JVM is frozen, its dump kept.
        await().atMost(Duration.ofSeconds(60)).until(() -> server.serverErr().contains("image commit attempt 2"));
        assertThat(server.get("/v1/workflows/outage").body()).contains("\"state\":\"RUNNING\"");
      } finally {
        s3.start();
      }
      awaitState(server, "outage", "COMPLETED");
      assertThat(historyCount(server, "outage", "SUSPENDED")).isEqualTo(1);
      assertThat(historyCount(server, "outage", "WAITING_IN_MEMORY")).isZero();
      assertThat(server.cli("logs", "outage").out()).isEqualTo("sleeping 3 s\nwoke\n");
    }
  }

  @Test
  void anOutageLongerThanTheRetryIsHonouredInMemoryAndRecorded() throws Exception {
    try (ServerProcess server = server("outage-long", "--store-retry", "2s")) {
      server.start();
      s3.stop();
      try {
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", "in-memory",
            "--", "4").exitCode()).isZero();
        await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "in-memory", "WAITING_IN_MEMORY") == 1);
        assertThat(history(server, "in-memory")).contains("image commit to s3://" + BUCKET + "/outage-long");
        awaitState(server, "in-memory", "COMPLETED");
      } finally {
        s3.start();
      }
      // The workflow's own log says so too (the agent's warning on its stderr).
      assertThat(server.cli("logs", "in-memory").out()).startsWith("sleeping 4 s\n")
          .contains("checkpoint failed, the wait was kept in memory: image commit to s3://" + BUCKET)
          .endsWith("woke\n");
      assertThat(historyCount(server, "in-memory", "SUSPENDED")).isZero();
    }
  }

  /**
   * Issue #12, defect 1: a workflow waiting in memory holds its JVM's slot, so its wake must not
   * ask for another. With one slot, a timer that falls due while the store still refuses the
   * image, an operator's wake and signals each reach the wait in memory.
   */
  @Test
  void timersDueDuringTheCommitRetryAndOperatorWakesReachAWaitInMemory() throws Exception {
    try (ServerProcess server = server("outage-due", "--store-retry", "4s", "--max-running", "1")) {
      server.start();
      s3.stop();
      try {
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", "due-in-retry",
            "--", "1").exitCode()).isZero();
        awaitState(server, "due-in-retry", "COMPLETED");
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", "woken",
            "--", "3600").exitCode()).isZero();
        await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "woken", "WAITING_IN_MEMORY") == 1);
        Result wake = server.cli("wake", "woken");
        assertThat(wake.exitCode()).as(wake.err()).isZero();
        awaitState(server, "woken", "COMPLETED");
        // Signals reach a wait in memory too, each once, also one sent before the wait began.
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(), "--id",
            "signalled").exitCode()).isZero();
        await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "signalled", "WAITING_IN_MEMORY") == 1);
        assertThat(server.cli("signal", "signalled", "step", "one").exitCode()).isZero();
        assertThat(server.cli("signal", "signalled", "step", "two").exitCode()).isZero();
        awaitState(server, "signalled", "COMPLETED");
      } finally {
        s3.start();
      }
      for (String id : List.of("due-in-retry", "woken")) {
        assertThat(server.cli("logs", id).out()).endsWith("woke\n");
        assertThat(historyCount(server, id, "SUSPENDED")).isZero();
      }
      String log = server.cli("logs", "signalled").out(); // with the agent's warning at each wait kept in memory
      assertThat(log).containsOnlyOnce("first: one\n").containsOnlyOnce("second: two\n").endsWith("second: two\n");
      assertThat(log.indexOf("first: one")).isLessThan(log.indexOf("second: two"));
      assertThat(historyCount(server, "signalled", "SUSPENDED")).isZero();
    }
  }

  /**
   * Issue #12, defect 2: a server killed while a workflow waits in memory (its JVM restored from
   * the local dump) leaves no JVM behind, and the workflow starts again at its next start. The
   * restored JVM is its waiter's child (CRIU restores it with --restore-sibling), so its
   * parent-death signal follows the waiter, which dies with the server; restored as CRIU's own
   * child it outlived the server in 4 of 7 runs.
   */
  @Test
  void aServerKilledWhileAWorkflowWaitsInMemoryLeavesNoJvm() throws Exception {
    try (ServerProcess server = server("outage-kill", "--store-retry", "2s")) {
      server.start();
      s3.stop();
      try {
        assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(), "--id", "kept",
            "--", "6").exitCode()).isZero();
        await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "kept", "WAITING_IN_MEMORY") == 1);
        assertThat(server.anyWorkflowProcess()).as("the workflow's JVM waits in memory: " + history(server, "kept"))
            .isTrue();
        server.kill9();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
            .untilAsserted(() -> {
              List<Long> left = server.workflowProcesses();
              assertThat(left).as("processes in the run directories after their server was killed:\n"
                  + ServerProcess.describe(left)).isEmpty();
            });
      } finally {
        s3.start();
      }
      server.start();
      awaitState(server, "kept", "COMPLETED");
      assertThat(history(server, "kept")).contains("RECOVERED");
      assertThat(server.cli("logs", "kept").out()).endsWith("woke\n");
    }
  }

  @Test
  void aCorruptOrTruncatedImageIsRefusedAndTheWorkflowStaysResumable() throws Exception {
    // The bucket's copy is what this test damages: no cached copy on the worker to restore instead.
    try (ServerProcess server = server("corrupt", "--image-key-file", keys.toString(), "--image-cache", "0")) {
      server.start();
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(), "--id", "flip")
          .exitCode()).isZero();
      awaitState(server, "flip", "SUSPENDED");
      Path object = objectFile("corrupt/images/flip/" + String.format("%020d", 1) + ".tar.zst");
      byte[] good = Files.readAllBytes(object);

      Files.write(object, Arrays.copyOf(good, good.length - 1000)); // truncated
      assertThat(server.cli("signal", "flip", "step", "one").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "flip", "RESTORE_FAILED") >= 1);

      byte[] flipped = good.clone();
      flipped[flipped.length / 2] ^= 0x10; // one bit
      Files.write(object, flipped);
      long before = historyCount(server, "flip", "RESTORE_FAILED");
      await().atMost(Duration.ofSeconds(60)).until(() -> historyCount(server, "flip", "RESTORE_FAILED") > before);
      assertThat(server.get("/v1/workflows/flip").body()).contains("\"state\":\"SUSPENDED\"");
      assertThat(historyCount(server, "flip", "RESUMED")).as("nothing corrupt was restored").isZero();

      Files.write(object, good); // the good image is back (say, from the bucket's versioning)
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
          .until(() -> historyCount(server, "flip", "SUSPENDED") == 2);
      assertThat(server.cli("signal", "flip", "step", "two").exitCode()).isZero();
      awaitState(server, "flip", "COMPLETED");
      assertThat(server.cli("logs", "flip").out()).isEqualTo("first: one\nsecond: two\n");
    }
  }

  @Test
  void anS3StoreWithoutImageKeysIsRefusedUnlessAllowedAndThenWarnedAtEveryStart() throws Exception {
    try (ServerProcess plain = new ServerProcess(plainS3Args("plain"))
        .env("AWS_ACCESS_KEY_ID", s3.accessKey()).env("AWS_SECRET_ACCESS_KEY", s3.secretKey())) {
      Result refused = plain.startRefused();
      assertThat(refused.exitCode()).as(refused.err()).isEqualTo(2);
      assertThat(refused.err()).contains("plaintext").contains("torpor images keygen").contains("--image-key-file")
          .contains("--allow-unencrypted-images");
      assertThat(aws("s3", "ls", "--recursive", "s3://" + BUCKET + "/plain/images/").out()).isEmpty();

      plain.args(s3Args("plain", "--allow-unencrypted-images")).start();
      assertThat(plain.serverErr()).contains("warning: --allow-unencrypted-images").contains("plaintext and unsigned");
      plain.kill9();
      plain.start();
      assertThat(plain.serverErr().split("warning: --allow-unencrypted-images", -1)).as("warned at each start").hasSize(3);
    }
  }

  @Test
  void wrongCredentialsOrAMissingBucketStopTheServerAtStartWithAClearMessage() throws Exception {
    try (ServerProcess badKey = new ServerProcess(s3Args("x"))
        .env("AWS_ACCESS_KEY_ID", "nobody").env("AWS_SECRET_ACCESS_KEY", "wrong")) {
      Result r = badKey.startRefused();
      assertThat(r.exitCode()).as(r.err()).isNotZero();
      assertThat(r.err()).contains("credentials").contains(BUCKET).contains("AWS_ACCESS_KEY_ID");
    }
    try (ServerProcess noBucket = new ServerProcess("--quiet", "--store", "s3://no-such-bucket/x", "--s3-endpoint",
        s3.endpoint().toString(), "--s3-region", "us-east-1", "--image-key-file", keys.toString())
        .env("AWS_ACCESS_KEY_ID", s3.accessKey()).env("AWS_SECRET_ACCESS_KEY", s3.secretKey())) {
      Result r = noBucket.startRefused();
      assertThat(r.exitCode()).as(r.err()).isNotZero();
      assertThat(r.err()).contains("no-such-bucket").contains("does not exist");
    }
    try (ServerProcess badStore = new ServerProcess("--quiet", "--store", "s3://", "--s3-region", "us-east-1",
        "--image-key-file", keys.toString())) {
      Result r = badStore.startRefused();
      assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
      assertThat(r.err()).contains("s3://");
    }
  }
}
