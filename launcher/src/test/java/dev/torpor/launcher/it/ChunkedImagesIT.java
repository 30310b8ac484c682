package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.ServerProcess.Result;
import dev.torpor.launcher.it.workflows.Cycles;
import dev.torpor.storage.S3ProxyProcess;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Chunked images (format 2) end to end, through real servers, CRIU and stores: an image stores
 * only the chunks its workflow's previous image lacks and reads the rest from earlier images'
 * data objects, which the janitor keeps exactly as long as an image reads them; round trips
 * through the local store in the clear and through S3 encrypted; the garbage collector running
 * in a loop while 50 workflows cycle; a damaged or missing frame refused with the frame named and
 * the workflow resumable once it is back; and format 1 images, written with {@code --image-format
 * 1}, restored by a server writing format 2. Every server here runs with {@code --image-cache 0},
 * so every wake reads the store. The servers that share chunks run with {@code --no-aslr}: the
 * first image of a program on a server goes into a shared pack, and the first images of later
 * workflows store only what it lacks; in the loop of 50, workflows keep restoring from it after
 * the workflow that wrote it finished and was collected, and every reference is released at the end.
 */
class ChunkedImagesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
  private static final String BUCKET = "torpor-chunks";
  private static final Duration LONG = Duration.ofSeconds(120);

  /** One local-store server for the tests that need nothing else: no cache, finished workflows' images collected at once. */
  private static ServerProcess local;
  private static Path localStore;
  private static Path jar;

  @BeforeAll
  static void startLocalServer() throws IOException {
    // --no-aslr: the first images of workflows of one program share chunks through a shared pack.
    local = new ServerProcess("--quiet", "--image-cache", "0", "--image-retention", "0", "--no-aslr");
    local.start();
    localStore = local.data.resolve("store");
    jar = ServerProcess.workflowJar(local.base);
  }

  @AfterAll
  static void stopLocalServer() throws IOException {
    if (local != null) {
      local.close();
    }
  }

  /**
   * Issue: round trips through the local store, in the clear. Each image is format 2 and reads the
   * frames it shares from the data objects of earlier images, which outlive their manifests exactly
   * while the newest image reads them; the finished workflow's images all go at {@code torpor images
   * gc} with a retention of 0.
   */
  @Test
  void imagesShareChunksWithEarlierImagesAndTheJanitorKeepsExactlyWhatTheNewestReads() throws Exception {
    String id = "plain";
    int waits = 4;
    int kib = 2048;
    long seed = 11;
    Result submitted = local.cli("submit", "--jar", jar.toString(), "--main", Cycles.class.getName(), "--id", id, "--",
        Integer.toString(waits), Integer.toString(kib), Long.toString(seed));
    assertThat(submitted.exitCode()).as(submitted.err()).isZero();
    List<String> texts = new ArrayList<>();

    Cycled cycled = cycleThroughImages(local, localStore, id, waits, texts);

    for (JsonNode m : cycled.manifests()) {
      assertThat(m.has("encryption")).as("no image keys: in the clear " + m).isFalse();
      assertThat(m.has("mac")).isFalse();
    }
    assertThat(cycled.head()).as("image 1's data object starts with a plain zstd frame").isEqualTo(ZSTD_MAGIC);

    awaitState(local, id, "COMPLETED");
    assertThat(log(local, id)).isEqualTo(Cycles.expected(waits, kib, seed, texts));
    assertFetchedFromTheStoreEveryTime(local, id, waits);

    // Finished, retention 0: the collection deletes the last image and every data object it read.
    assertThat(dataSeqs(localStore, id)).as("the last image's objects, until the collection").isNotEmpty();
    Result gc = local.cli("images", "gc");
    assertThat(gc.exitCode()).as(gc.out() + gc.err()).isZero();
    assertThat(gc.out()).startsWith("deleted ").contains("kept 0 last image(s)");
    assertThat(manifestSeqs(localStore, id)).isEmpty();
    assertThat(dataSeqs(localStore, id)).as("no data object of a collected workflow is left").isEmpty();
    String pack = shared(cycled.manifests().get(0)).get(0);
    assertThat(referrers(localStore, pack)).as("its reference to shared pack " + pack + " is released").doesNotContain(id);
    if (referrers(localStore, pack).isEmpty()) {
      assertThat(sharedPack(localStore, pack)).as("a shared pack no workflow refers to is deleted").doesNotExist();
    }
  }

  /** Issue: the same round trip through S3 (S3Proxy), encrypted and signed with image keys. */
  @Test
  void encryptedImagesInS3ShareChunksAndRoundTrip() throws Exception {
    Path dir = TestDirs.traversable("torpor-chunks-s3-");
    try (S3ProxyProcess s3 = S3ProxyProcess.launch()) {
      s3.createBucket(BUCKET);
      Path keys = dir.resolve("image.keys");
      Files.writeString(keys, ImageKeyring.generate() + "\n");
      Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-------"));
      String keyId = ImageKeyring.fromFile(keys).currentKeyId();
      try (ServerProcess server = new ServerProcess("--quiet", "--store", "s3://" + BUCKET + "/enc", "--s3-endpoint",
          s3.endpoint().toString(), "--s3-region", "us-east-1", "--image-key-file", keys.toString(), "--image-cache", "0",
          "--no-aslr")
          .env("AWS_ACCESS_KEY_ID", s3.accessKey()).env("AWS_SECRET_ACCESS_KEY", s3.secretKey())) {
        server.start();
        Path store = s3.basedir().resolve(BUCKET).resolve("enc");
        String id = "sealed";
        int waits = 4;
        int kib = 2048;
        long seed = 22;
        Result submitted = server.cli("submit", "--jar", jar.toString(), "--main", Cycles.class.getName(), "--id", id,
            "--", Integer.toString(waits), Integer.toString(kib), Long.toString(seed));
        assertThat(submitted.exitCode()).as(submitted.err()).isZero();
        List<String> texts = new ArrayList<>();

        Cycled cycled = cycleThroughImages(server, store, id, waits, texts);

        for (JsonNode m : cycled.manifests()) {
          assertThat(m.path("encryption").path("scheme").asText()).as(m.toString()).isEqualTo("AES256_GCM_HKDF_1MB");
          assertThat(m.path("encryption").path("keyId").asText()).isEqualTo(keyId);
          assertThat(m.path("mac").asText()).as("signed").hasSize(64);
        }
        assertThat(cycled.head()).as("image 1's data object is ciphertext, not a zstd frame").isNotEqualTo(ZSTD_MAGIC);

        awaitState(server, id, "COMPLETED");
        assertThat(log(server, id)).isEqualTo(Cycles.expected(waits, kib, seed, texts));
        assertFetchedFromTheStoreEveryTime(server, id, waits);

        // Finished, default retention (1 day): the collection keeps the last image and every object it reads.
        Result gc = server.cli("images", "gc");
        assertThat(gc.exitCode()).as(gc.out() + gc.err()).isZero();
        assertThat(gc.out()).contains("kept 1 last image(s)");
        long last = waits;
        assertThat(manifestSeqs(store, id)).containsExactly(last);
        assertThat(dataSeqs(store, id)).isEqualTo(new TreeSet<>(packs(manifest(store, id, last).orElseThrow())));
      }
    } finally {
      TestDirs.deleteTree(dir);
    }
  }

  /**
   * Issue: the collector in a loop while 50 workflows cycle through three waits each, every wake
   * reading its image from the store, up to 8 at once: nothing lost, nothing restored wrong,
   * nothing left behind.
   */
  @Test
  void fiftyWorkflowsCycleWhileTheCollectorRunsInALoop() throws Exception {
    int workflows = 50;
    int waits = 3;
    int kib = 256;
    HttpResponse<String> app = local.post("/v1/apps", "application/java-archive", Files.readAllBytes(jar));
    assertThat(app.statusCode()).as(app.body()).isEqualTo(200);
    String sha = JSON.readTree(app.body()).get("sha256").asText();

    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger collections = new AtomicInteger();
    AtomicInteger collected = new AtomicInteger();
    List<String> gcProblems = new CopyOnWriteArrayList<>();
    // The collector runs every 100 ms for as long as the workflows cycle.
    ScheduledExecutorService collector = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "gc-loop"));
    collector.scheduleWithFixedDelay(() -> {
      if (stop.get()) {
        return;
      }
      try {
        // What `torpor images gc` asks the server for.
        HttpResponse<String> r = local.post("/v1/images/gc?dryRun=false", "application/json", new byte[0]);
        JsonNode report = JSON.readTree(r.body());
        if (r.statusCode() != 200 || report.path("errors").size() > 0) {
          gcProblems.add(r.statusCode() + " " + r.body());
        }
        collections.incrementAndGet();
        collected.addAndGet(report.path("imagesDeleted").asInt());
      } catch (IOException e) {
        gcProblems.add(e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, 0, 100, TimeUnit.MILLISECONDS);
    Map<String, List<String>> texts = new ConcurrentHashMap<>();
    List<String> ids = new ArrayList<>();
    long t0 = System.nanoTime();
    long[] nextReport = {10_000};
    try {
      for (int i = 0; i < workflows; i++) {
        String id = String.format("gc-%02d", i);
        String body = JSON.writeValueAsString(Map.of("id", id, "app", sha, "main", Cycles.class.getName(),
            "args", List.of(Integer.toString(waits), Integer.toString(kib), Integer.toString(1000 + i))));
        HttpResponse<String> r = local.post("/v1/workflows", "application/json", body.getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        ids.add(id);
        texts.put(id, new ArrayList<>());
      }
      // In waves: once every workflow waits frozen on image k, each is signalled, so that the wakes
      // come together and as many restores run at once as the server has slots (--max-running 8).
      long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
      for (int wave = 1; wave <= waits + 1; wave++) {
        int k = wave;
        await().atMost(Duration.ofNanos(Math.max(1, deadline - System.nanoTime()))).pollInterval(Duration.ofMillis(200))
            .conditionEvaluationListener(c -> {
              if (System.nanoTime() - t0 >= nextReport[0] * 1_000_000) {
                nextReport[0] += 10_000;
                System.out.println("fifty: " + (System.nanoTime() - t0) / 1_000_000_000 + " s: " + progress(local, ids));
              }
            }).until(() -> {
              Map<String, JsonNode> views = views(local);
              for (String id : ids) {
                assertNotStuck(local, views.get(id), ids);
              }
              return ids.stream().map(views::get).allMatch(w -> k > waits ? "COMPLETED".equals(w.path("state").asText())
                  : "SUSPENDED".equals(w.path("state").asText()) && "SIGNAL".equals(w.path("waitKind").asText())
                      && !w.path("inMemory").asBoolean() && w.path("seq").asLong() == k);
            });
        if (k <= waits) {
          for (String id : ids) {
            signal(local, id, "t" + k, texts.get(id));
          }
        }
      }
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("not all completed: " + progress(local, ids) + "\n" + unfinished(local, ids)
          + "\nserver stderr (tail):\n" + tail(local.serverErr(), 4000), e);
    } finally {
      stop.set(true);
      collector.shutdown();
      collector.awaitTermination(30, TimeUnit.SECONDS);
    }
    System.out.println("fifty: all completed in " + (System.nanoTime() - t0) / 1_000_000 + " ms; " + collections.get()
        + " collections deleted " + collected.get() + " images");
    assertThat(gcProblems).as("collections that failed").isEmpty();
    assertThat(local.serverErr()).doesNotContain("Exception in thread").doesNotContain("OutOfMemoryError");
    assertThat(collections.get()).as("collections while the workflows cycled").isGreaterThan(10);
    assertThat(collected.get()).as("images the loop collected while others still cycled").isPositive();

    for (int i = 0; i < workflows; i++) {
      String id = ids.get(i);
      assertThat(log(local, id)).as(id).isEqualTo(Cycles.expected(waits, kib, 1000 + i, texts.get(id)));
      Map<String, Integer> counts = new HashMap<>();
      events(local, id).forEach(e -> counts.merge(e.path("type").asText(), 1, Integer::sum));
      assertThat(counts).as(id + " " + counts).containsEntry("SUSPENDED", waits).containsEntry("RESUMED", waits)
          .containsEntry("COMPLETED", 1).doesNotContainKey("RESTORE_FAILED").doesNotContainKey("CHECKPOINT_FAILED")
          .doesNotContainKey("RECOVERED");
    }
    // A last collection: the images of every finished workflow are gone, with every data object.
    HttpResponse<String> last = local.post("/v1/images/gc?dryRun=false", "application/json", new byte[0]);
    assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
    for (String id : ids) {
      assertThat(manifestSeqs(localStore, id)).as(id).isEmpty();
      assertThat(dataSeqs(localStore, id)).as(id + ": data objects left behind").isEmpty();
    }
    // Their first images shared chunks through shared packs: every reference of theirs is released.
    try (var walk = Files.walk(localStore.resolve("shared"))) {
      List<String> left = walk.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
          .filter(ids::contains).toList();
      assertThat(left).as("references to shared packs left by collected workflows").isEmpty();
    }
  }

  /**
   * Issue: a corrupted or missing chunk is refused with the frame, its data object and its chunks
   * named; the workflow stays suspended and resumes once the data is back.
   */
  @Test
  void aDamagedOrMissingFrameIsRefusedNamingItAndTheWorkflowResumesOnceItIsBack() throws Exception {
    String id = "damaged";
    int waits = 6;
    int kib = 2048;
    long seed = 33;
    // A workflow of the program suspended first, so that "damaged" is not the first one on the
    // server (whose frames go into a shared pack) but one that stores its own frames.
    Result first = local.cli("submit", "--jar", jar.toString(), "--main", Cycles.class.getName(), "--id", "damaged-seed",
        "--", "2", Integer.toString(kib), "34");
    assertThat(first.exitCode()).as(first.err()).isZero();
    awaitCount(local, "damaged-seed", "SUSPENDED", 1);
    Result submitted = local.cli("submit", "--jar", jar.toString(), "--main", Cycles.class.getName(), "--id", id, "--",
        Integer.toString(waits), Integer.toString(kib), Long.toString(seed));
    assertThat(submitted.exitCode()).as(submitted.err()).isZero();
    List<String> texts = new ArrayList<>();
    awaitCount(local, id, "SUSPENDED", 1);
    long framesOf1 = manifest(localStore, id, 1).orElseThrow().path("chunks").path("indexOffset").asLong();
    assertThat(framesOf1).isPositive();
    signal(local, id, "a", texts);
    awaitCount(local, id, "SUSPENDED", 2);
    signal(local, id, "b", texts);
    awaitCount(local, id, "SUSPENDED", 3);
    JsonNode third = awaitManifest(localStore, id, 3);
    assertThat(packs(third)).as("image 3 reads frames of image 1's data object: " + third).contains(1L, 3L);

    // (a) One byte flipped in every KiB of the frames of data object 1 (not its index, which image 3 does not read).
    Path object1 = dataObject(localStore, id, 1);
    byte[] good = Files.readAllBytes(object1);
    byte[] damaged = good.clone();
    for (int i = 512; i < framesOf1; i += 1024) {
      damaged[i] ^= 0x40;
    }
    Files.write(object1, damaged);
    signal(local, id, "c", texts);
    String error = awaitRestoreFailed(local, id, 1);
    assertThat(error).startsWith("image " + id + "#3 is corrupt: frame ")
        .contains("of the data object of image " + id + "#1, SHA-256 ").contains("chunk(s) of the image: ")
        .contains(".img at ").contains("but the index says").contains("refusing to restore it");
    Matcher range = Pattern.compile("bytes (\\d+) to (\\d+) of the data object of image " + Pattern.quote(id) + "#1")
        .matcher(error);
    assertThat(range.find()).as(error).isTrue();
    long from = Long.parseLong(range.group(1));
    long to = Long.parseLong(range.group(2));
    assertThat(from).isNotNegative().isLessThan(to);
    assertThat(to).as("a frame, before the index").isLessThanOrEqualTo(framesOf1);
    assertSuspendedNotRestored(local, id, 2);

    // Exactly one bit, in the frame just named: that frame is named again, at the server's retry.
    byte[] oneBit = good.clone();
    oneBit[(int) ((from + to) / 2)] ^= 0x01;
    Files.write(object1, oneBit);
    String again = awaitRestoreFailed(local, id, 2);
    assertThat(again).contains("bytes " + from + " to " + to + " of the data object of image " + id + "#1")
        .contains("but the index says");
    assertSuspendedNotRestored(local, id, 2);

    Files.write(object1, good); // put back: the next retry restores it
    awaitCount(local, id, "SUSPENDED", 4);
    assertThat(events(local, id, "RESUMED")).hasSize(3);

    // (b) The oldest data object image 4 reads, moved away: refused as missing, then put back.
    JsonNode fourth = awaitManifest(localStore, id, 4);
    long oldest = packs(fourth).get(0);
    assertThat(oldest).as("image 4 reads an earlier image's frames: " + fourth).isLessThan(4L);
    Path object = dataObject(localStore, id, oldest);
    Path aside = local.base.resolve("moved-aside.tar.zst");
    Files.move(object, aside);
    signal(local, id, "d", texts);
    String missing = awaitRestoreFailed(local, id, 3);
    assertThat(missing).startsWith("image " + id + "#4 is corrupt: the data object of image " + id + "#" + oldest
        + ", which holds ").contains(" of its frames, is missing from local:");
    assertSuspendedNotRestored(local, id, 3);
    Files.move(aside, object);
    awaitCount(local, id, "SUSPENDED", 5);

    signal(local, id, "e", texts);
    awaitCount(local, id, "SUSPENDED", 6);
    signal(local, id, "f", texts);
    awaitState(local, id, "COMPLETED");
    assertThat(log(local, id)).isEqualTo(Cycles.expected(waits, kib, seed, texts));
    assertThat(events(local, id, "RESTORE_FAILED")).hasSize(3);
  }

  /**
   * Issue: format 1 images written by this release ({@code --image-format 1}) restore after the
   * upgrade to format 2, whose first image then starts sharing.
   */
  @Test
  void aFormatOneImageRestoresAfterTheUpgradeAndTheNextImagesAreChunked() throws Exception {
    try (ServerProcess server = new ServerProcess("--quiet", "--image-cache", "0", "--image-format", "1")) {
      server.start();
      Path store = server.data.resolve("store");
      String id = "upgraded";
      int waits = 3;
      int kib = 2048;
      long seed = 44;
      Result submitted = server.cli("submit", "--jar", jar.toString(), "--main", Cycles.class.getName(), "--id", id,
          "--", Integer.toString(waits), Integer.toString(kib), Long.toString(seed));
      assertThat(submitted.exitCode()).as(submitted.err()).isZero();
      List<String> texts = new ArrayList<>();
      awaitCount(server, id, "SUSPENDED", 1);
      JsonNode v1 = awaitManifest(store, id, 1);
      assertThat(v1.path("format").asInt()).as(v1.toString()).isEqualTo(1);
      assertThat(v1.has("chunks")).isFalse();
      assertThat(v1.path("compression").asText()).isEqualTo("tar+zstd");
      assertThat(v1.path("packedBytes").asLong()).isEqualTo(Files.size(dataObject(store, id, 1)));

      // Stopped (SIGTERM) and started again on the same data directory, at the default format.
      ProcessHandle.of(server.pid()).orElseThrow().destroy();
      assertThat(server.awaitExit(Duration.ofSeconds(30))).as(server.serverErr()).isIn(0, 143);
      server.args("--quiet", "--image-cache", "0").start();

      signal(server, id, "x", texts);
      awaitCount(server, id, "SUSPENDED", 2);
      JsonNode second = awaitManifest(store, id, 2);
      assertThat(second.path("format").asInt()).as(second.toString()).isEqualTo(2);
      assertThat(packs(second)).as("a format 1 image has no chunks to share").containsExactly(2L);
      await().atMost(LONG).until(() -> dataSeqs(store, id).equals(new TreeSet<>(List.of(2L)))
          && manifestSeqs(store, id).equals(new TreeSet<>(List.of(2L))));

      signal(server, id, "y", texts);
      awaitCount(server, id, "SUSPENDED", 3);
      JsonNode third = awaitManifest(store, id, 3);
      assertThat(third.path("format").asInt()).isEqualTo(2);
      assertThat(packs(third)).as("shares the first chunked image's frames").containsExactly(2L, 3L);

      signal(server, id, "z", texts);
      awaitState(server, id, "COMPLETED");
      assertThat(log(server, id)).isEqualTo(Cycles.expected(waits, kib, seed, texts));
      assertFetchedFromTheStoreEveryTime(server, id, waits);
    }
  }

  /**
   * Signals the workflow through its first {@code waits - 1} images, checking each: format 2, its
   * own data object's size, sharing from the second on, and the janitor deleting the superseded
   * manifests while keeping exactly the data objects the newest image reads. Sends the last signal
   * too; returns the manifests, in order, and the first bytes of image 1's data object.
   */
  private static Cycled cycleThroughImages(ServerProcess server, Path store, String id, int waits,
      List<String> texts) throws Exception {
    List<JsonNode> manifests = new ArrayList<>();
    byte[] head = null;
    for (long seq = 1; seq <= waits; seq++) {
      awaitCount(server, id, "SUSPENDED", (int) seq);
      JsonNode m = awaitManifest(store, id, seq);
      manifests.add(m);
      assertThat(m.path("format").asInt()).as(m.toString()).isEqualTo(2);
      assertThat(m.path("packedBytes").asLong()).as("its own data object").isEqualTo(Files.size(dataObject(store, id, seq)));
      long indexOffset = m.path("chunks").path("indexOffset").asLong();
      // Zero when its frames went into a shared pack: the first image of the program on this server.
      assertThat(indexOffset).isNotNegative().isLessThan(m.path("packedBytes").asLong());
      assertThat(shared(m)).as("every image refers to the shared pack its workflow's first image read or wrote")
          .hasSize(1);
      assertThat(sharedPack(store, shared(m).get(0))).as("the shared pack, in the store").exists();
      if (seq == 1) {
        head = Arrays.copyOf(Files.readAllBytes(dataObject(store, id, 1)), 4);
      }
      List<Long> packs = packs(m);
      assertThat(packs).as("ascending, its own last").isSorted().endsWith(seq);
      if (seq == 1) {
        assertThat(packs).containsExactly(1L);
      } else {
        assertThat(packs.size() > 1 || manifests.get(0).path("chunks").path("indexOffset").asLong() == 0)
            .as("image " + seq + " reads earlier images' frames, or those of the shared pack image 1 wrote: " + m).isTrue();
        // What image 1 stored: its data object and, if it wrote it, the shared pack.
        long firstPacked = manifests.get(0).path("packedBytes").asLong()
            + (manifests.get(0).path("chunks").path("indexOffset").asLong() == 0
                ? Files.size(sharedPack(store, shared(manifests.get(0)).get(0))) : 0);
        assertThat(m.path("packedBytes").asLong()).as("image " + seq + " stores only what changed, image 1 " + firstPacked)
            .isLessThan(firstPacked / 2);
        assertThat(m.path("rawBytes").asLong()).as("yet is as large as a whole image")
            .isGreaterThan(manifests.get(0).path("rawBytes").asLong() / 2);
        long s = seq;
        // The janitor: superseded manifests go; of the data objects, exactly those the newest image reads stay.
        await().atMost(LONG).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
          assertThat(manifestSeqs(store, id)).containsExactly(s);
          assertThat(dataSeqs(store, id)).isEqualTo(new TreeSet<>(packs));
        });
      }
      signal(server, id, "s" + seq, texts);
    }
    return new Cycled(manifests, head);
  }

  private record Cycled(List<JsonNode> manifests, byte[] head) {}

  /** Every wake read the image from the store: none came from a worker's hot cache. */
  private static void assertFetchedFromTheStoreEveryTime(ServerProcess server, String id, int waits) throws Exception {
    List<JsonNode> resumed = events(server, id, "RESUMED");
    assertThat(resumed).hasSize(waits);
    for (JsonNode e : resumed) {
      JsonNode timings = e.path("details").path("timings");
      assertThat(timings.has("fetchVerifyUnpack")).as(timings.toString()).isTrue();
      assertThat(timings.has("fromCache")).isFalse();
    }
  }

  private static void assertSuspendedNotRestored(ServerProcess server, String id, int resumed) throws Exception {
    assertThat(JSON.readTree(server.get("/v1/workflows/" + id).body()).path("state").asText()).isEqualTo("SUSPENDED");
    assertThat(events(server, id, "RESUMED")).as("nothing damaged was restored").hasSize(resumed);
    assertThat(dev.torpor.launcher.internal.ProcessScan.withCwd(runDir(server, id))).as("no JVM left of the refused restore")
        .isEmpty();
  }

  /** The workflow's run directory: the worker names it by the first 16 hex digits of the id's SHA-256. */
  private static Path runDir(ServerProcess server, String id) throws Exception {
    byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
    return server.runBase.toAbsolutePath().resolve(java.util.HexFormat.of().formatHex(sha).substring(0, 16));
  }

  private static String awaitRestoreFailed(ServerProcess server, String id, int n) throws Exception {
    awaitCount(server, id, "RESTORE_FAILED", n);
    return events(server, id, "RESTORE_FAILED").get(n - 1).path("details").path("error").asText();
  }

  private static void signal(ServerProcess server, String id, String text, List<String> texts) throws Exception {
    HttpResponse<String> s = server.post("/v1/workflows/" + id + "/signals/next", "application/octet-stream",
        text.getBytes(StandardCharsets.UTF_8));
    assertThat(s.statusCode()).as(s.body()).isEqualTo(202);
    texts.add(text);
  }

  private static String log(ServerProcess server, String id) throws Exception {
    return new String(server.getBytes("/v1/workflows/" + id + "/logs?offset=0&max=1000000"), StandardCharsets.UTF_8);
  }

  /**
   * Fails at once, saying why, if workflow {@code w} failed, or has been running for a minute
   * without a wait or an end (each of its segments takes a second or two).
   */
  private static void assertNotStuck(ServerProcess server, JsonNode w, List<String> ids) {
    assertThat(w).isNotNull();
    String state = w.path("state").asText();
    boolean stuck = "RUNNING".equals(state)
        && java.time.Instant.parse(w.path("updatedAt").asText()).isBefore(java.time.Instant.now().minusSeconds(60));
    if (stuck || "FAILED".equals(state) || "CANCELLED".equals(state)) {
      throw new AssertionError(w.path("id").asText() + " is " + state + (stuck ? " since " + w.path("updatedAt").asText()
          : "") + ": " + progress(server, ids) + "\n" + unfinished(server, ids) + "\nserver stderr (tail):\n"
          + tail(server.serverErr(), 4000));
    }
  }

  /** How many of the workflows are in each state and at each seq, for a test that waits too long. */
  private static String progress(ServerProcess server, List<String> ids) {
    try {
      Map<String, JsonNode> views = views(server);
      Map<String, Integer> counts = new java.util.TreeMap<>();
      for (String id : ids) {
        JsonNode w = views.get(id);
        counts.merge(w == null ? "missing" : w.path("state").asText() + "@" + w.path("seq").asLong(), 1, Integer::sum);
      }
      return counts.toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  /** The state and last events of each workflow that has not completed. */
  private static String unfinished(ServerProcess server, List<String> ids) {
    StringBuilder out = new StringBuilder();
    try {
      Map<String, JsonNode> views = views(server);
      for (String id : ids) {
        JsonNode w = views.get(id);
        if (w != null && !"COMPLETED".equals(w.path("state").asText())) {
          List<JsonNode> history = events(server, id);
          out.append(w).append("\n  last events: ")
              .append(history.subList(Math.max(0, history.size() - 4), history.size())).append('\n');
        }
      }
    } catch (Exception e) {
      out.append(e);
    }
    return out.toString();
  }

  private static String tail(String text, int chars) {
    return text.substring(Math.max(0, text.length() - chars));
  }

  private static Map<String, JsonNode> views(ServerProcess server) throws Exception {
    Map<String, JsonNode> out = new HashMap<>();
    for (JsonNode w : JSON.readTree(server.get("/v1/workflows?limit=1000").body())) {
      out.put(w.path("id").asText(), w);
    }
    return out;
  }

  private static List<JsonNode> events(ServerProcess server, String id) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    JSON.readTree(server.get("/v1/workflows/" + id + "/history").body()).forEach(out::add);
    return out;
  }

  private static List<JsonNode> events(ServerProcess server, String id, String type) throws Exception {
    return events(server, id).stream().filter(e -> type.equals(e.path("type").asText())).toList();
  }

  private static void awaitCount(ServerProcess server, String id, String type, int n) {
    await().atMost(LONG).pollInterval(Duration.ofMillis(100)).until(() -> {
      List<JsonNode> all = events(server, id);
      assertThat(all.stream().map(e -> e.path("type").asText()).toList()).as(id + " " + all)
          .doesNotContain("FAILED", "COMPLETED");
      return all.stream().filter(e -> type.equals(e.path("type").asText())).count() >= n;
    });
  }

  private static void awaitState(ServerProcess server, String id, String state) {
    await().atMost(LONG).pollInterval(Duration.ofMillis(100))
        .until(() -> state.equals(JSON.readTree(server.get("/v1/workflows/" + id).body()).path("state").asText()));
  }

  private static Path dataObject(Path store, String id, long seq) {
    return store.resolve("images").resolve(id).resolve(String.format("%020d.tar.zst", seq));
  }

  private static Optional<JsonNode> manifest(Path store, String id, long seq) throws IOException {
    try {
      return Optional.of(JSON.readTree(Files.readAllBytes(
          store.resolve("images").resolve(id).resolve(String.format("%020d.manifest.json", seq)))));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  private static JsonNode awaitManifest(Path store, String id, long seq) {
    return await().atMost(LONG).until(() -> manifest(store, id, seq), Optional::isPresent).orElseThrow();
  }

  private static List<String> shared(JsonNode manifest) {
    List<String> shared = new ArrayList<>();
    manifest.path("chunks").path("shared").forEach(p -> shared.add(p.asText()));
    return shared;
  }

  private static Path sharedPack(Path store, String id) {
    return store.resolve("shared").resolve(id + ".pack");
  }

  /** The workflows that refer to shared pack {@code id}. */
  private static List<String> referrers(Path store, String id) throws IOException {
    Path refs = store.resolve("shared").resolve(id + ".refs");
    if (!Files.isDirectory(refs)) {
      return List.of();
    }
    try (var files = Files.list(refs)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static List<Long> packs(JsonNode manifest) {
    List<Long> packs = new ArrayList<>();
    manifest.path("chunks").path("packs").forEach(p -> packs.add(p.asLong()));
    return packs;
  }

  private static TreeSet<Long> dataSeqs(Path store, String id) throws IOException {
    return seqs(store, id, ".tar.zst");
  }

  private static TreeSet<Long> manifestSeqs(Path store, String id) throws IOException {
    return seqs(store, id, ".manifest.json");
  }

  /** The seqs of a workflow's objects in a store's directory whose names end with {@code suffix}. */
  private static TreeSet<Long> seqs(Path store, String id, String suffix) throws IOException {
    TreeSet<Long> seqs = new TreeSet<>();
    Path dir = store.resolve("images").resolve(id);
    if (!Files.isDirectory(dir)) {
      return seqs;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        String name = f.getFileName().toString();
        if (name.endsWith(suffix) && name.length() == 20 + suffix.length()) {
          seqs.add(Long.parseLong(name.substring(0, 20)));
        }
      }
    }
    return seqs;
  }
}
