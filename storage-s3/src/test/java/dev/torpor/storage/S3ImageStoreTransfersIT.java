package dev.torpor.storage;

import static dev.torpor.storage.TestManifests.aManifest;
import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.TestManifests.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What only an S3 store does, against a real S3-compatible server (S3Proxy): multipart uploads
 * and ranged downloads, aborts, the key layout under a prefix, damage done behind its back.
 */
class S3ImageStoreTransfersIT {
  private static final String BUCKET = "torpor-transfers";
  private static final int PART = S3StoreConfig.MIN_PART_SIZE;
  private static S3ProxyProcess s3;
  private static S3Client raw;

  private String prefix;
  private S3ImageStore store;

  @BeforeAll
  static void startServer() throws IOException {
    s3 = S3ProxyProcess.launch();
    s3.createBucket(BUCKET);
    raw = s3.newClient();
  }

  @AfterAll
  static void stopServer() {
    if (raw != null) {
      raw.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  @BeforeEach
  void openStore() throws IOException {
    prefix = "transfers/" + UUID.randomUUID();
    store = open(prefix);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  /** A store with the smallest parts, so that a few MiB take the multipart path. */
  private static S3ImageStore open(String prefix) throws IOException {
    return S3ImageStore.open(
        s3.configFor(BUCKET).prefix(prefix).partSize(PART).parallelism(4).build(), s3.credentials());
  }

  private static String newWorkflowId(String base) {
    return base + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private void put(ImageKey key, byte[] data) throws IOException {
    try (ImageUpload upload = store.begin(key)) {
      write(upload.data(), data);
      upload.commit(aManifest(key, data));
    }
  }

  private static void write(OutputStream out, byte[] data) throws IOException {
    for (int off = 0; off < data.length; off += 64 * 1024) {
      out.write(data, off, Math.min(64 * 1024, data.length - off));
    }
  }

  private byte[] read(ImageKey key) throws IOException {
    try (InputStream in = store.openData(key)) {
      return in.readAllBytes();
    }
  }

  private List<String> objectKeys(String under) {
    return raw.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(under)).contents().stream()
        .map(S3Object::key)
        .toList();
  }

  @Test
  void a40MbImageRoundTripsThroughParallelPartsAndParallelRanges() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("large"), 1);
    byte[] data = bytes(40, 40_000_000);

    long start = System.nanoTime();
    put(key, data);
    long uploaded = System.nanoTime();
    byte[] back = read(key);
    long downloaded = System.nanoTime();

    assertThat(back).isEqualTo(data);
    int parts = (data.length + PART - 1) / PART;
    assertThat(store.stats.multipartUploads).hasValue(1);
    assertThat(store.stats.partsUploaded).hasValue(parts);
    assertThat(store.stats.maxPartsInFlight.get()).isBetween(2, 4);
    assertThat(store.stats.rangedGets).hasValue(parts);
    assertThat(store.stats.maxRangesInFlight.get()).isBetween(2, 4);
    // S3 names a multipart object's ETag after its part count.
    String eTag = raw.headObject(b -> b.bucket(BUCKET).key(prefix + "/" + key.dataKey())).eTag();
    assertThat(eTag).endsWith("-" + parts + "\"");
    System.out.printf(
        Locale.ROOT,
        "40 MB image through S3Proxy, %d parts of 5 MiB, 4 in flight: upload %.1f MB/s, download"
            + " %.1f MB/s%n",
        parts,
        data.length / 1e6 / ((uploaded - start) / 1e9),
        data.length / 1e6 / ((downloaded - uploaded) / 1e9));
  }

  @Test
  void anImageOfOnePartIsOnePutAndOneByteMoreIsAMultipartUpload() throws IOException {
    ImageKey onePart = new ImageKey(newWorkflowId("one-part"), 1);
    ImageKey twoParts = new ImageKey(newWorkflowId("two-parts"), 1);
    byte[] exact = bytes(1, PART);
    byte[] more = bytes(2, PART + 1);

    put(onePart, exact);
    assertThat(store.stats.multipartUploads).hasValue(0);
    put(twoParts, more);

    assertThat(store.stats.multipartUploads).hasValue(1);
    assertThat(store.stats.partsUploaded).hasValue(2);
    assertThat(read(onePart)).isEqualTo(exact);
    assertThat(read(twoParts)).isEqualTo(more);
    assertThat(store.stats.rangedGets).hasValue(0); // up to two parts: one GET
  }

  @Test
  void anImageOfMoreThanTwoPartsIsReadInRanges() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("ranges"), 1);
    byte[] data = bytes(3, 2 * PART + 1);
    put(key, data);

    try (InputStream in = store.openData(key)) {
      assertThat(in.read()).isEqualTo(data[0] & 0xff);
      byte[] rest = in.readAllBytes();
      assertThat(rest.length).isEqualTo(data.length - 1);
      assertThat(in.read()).isEqualTo(-1);
      assertThat(rest).isEqualTo(Arrays.copyOfRange(data, 1, data.length));
    }
    assertThat(store.stats.rangedGets).hasValue(3);
  }

  @Test
  void closingWithoutCommitLeavesNoObjectAndNoPendingMultipartUpload() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("abort"), 1);
    ImageUpload upload = store.begin(key);
    write(upload.data(), bytes(1, 3 * PART + 100)); // three parts sent, the fourth buffered

    upload.close();

    assertThat(store.stats.multipartUploads).hasValue(1);
    assertThat(objectKeys(prefix + "/")).isEmpty();
    assertThat(raw.listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix + "/")).uploads())
        .isEmpty();
    assertThat(store.seqs(key.workflowId())).isEmpty();
    assertThatThrownBy(() -> store.openData(key)).isInstanceOf(ImageNotFoundException.class);
  }

  @Test
  void aCommittedImageHasItsDataAndManifestUnderThePrefixAndNothingElse() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("layout"), 42);
    put(key, bytes(1, 1_000));

    assertThat(objectKeys(prefix + "/"))
        .containsExactlyInAnyOrder(prefix + "/" + key.dataKey(), prefix + "/" + key.manifestKey());
    assertThat(prefix + "/" + key.manifestKey())
        .endsWith("/images/" + key.workflowId() + "/00000000000000000042.manifest.json");
    assertThat(objectKeys(prefix + "/.torpor-probe/")).isEmpty(); // the open's probe is gone
  }

  @Test
  void anAppJarIsOneObjectUnderAppsBesideImages(@TempDir Path dir) throws IOException {
    byte[] content = bytes(1, 10_000);
    String sha = sha256Hex(content);
    ImageKey key = new ImageKey(newWorkflowId("beside-app"), 1);
    put(key, bytes(2, 100));

    store.putApp(sha, Files.write(dir.resolve("app.jar"), content));

    String appKey = prefix + "/apps/" + sha + ".jar";
    assertThat(objectKeys(prefix + "/"))
        .containsExactlyInAnyOrder(
            appKey, prefix + "/" + key.dataKey(), prefix + "/" + key.manifestKey());
    assertThat(raw.headObject(b -> b.bucket(BUCKET).key(appKey)).contentType())
        .isEqualTo("application/java-archive");
    assertThat(store.workflowIds()).containsExactly(key.workflowId());
  }

  @Test
  void aRefusedAppJarLeavesNoObject(@TempDir Path dir) throws IOException {
    Path jar = Files.write(dir.resolve("app.jar"), bytes(1, 2 * PART));
    String claimed = sha256Hex(bytes(2, 10));

    assertThatThrownBy(() -> store.putApp(claimed, jar))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not " + claimed);

    String appKey = prefix + "/apps/" + claimed + ".jar";
    assertThatThrownBy(() -> raw.headObject(b -> b.bucket(BUCKET).key(appKey)))
        .isInstanceOfSatisfying(S3Exception.class, e -> assertThat(e.statusCode()).isEqualTo(404));
    // The body was cut short, so the server dropped it; S3Proxy removes its temp file of the
    // request once it sees the connection end, which may be a moment after the refusal.
    await().atMost(Duration.ofSeconds(10)).until(() -> objectKeys(prefix + "/").isEmpty());
  }

  @Test
  void aDamagedAppJarIsNotFetched(@TempDir Path dir) throws IOException {
    byte[] content = bytes(1, 10_000);
    String sha = sha256Hex(content);
    store.putApp(sha, Files.write(dir.resolve("app.jar"), content));
    String appKey = prefix + "/apps/" + sha + ".jar";
    raw.putObject(b -> b.bucket(BUCKET).key(appKey), RequestBody.fromBytes(bytes(2, 10_000)));
    Path target = dir.resolve("fetched.jar");

    assertThatThrownBy(() -> store.fetchApp(sha, target))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining(
            "corrupt application jar " + sha + " at s3://" + BUCKET + "/" + appKey);

    assertThat(target).doesNotExist();
    assertThat(dir).isDirectoryNotContaining("glob:**.tmp");
  }

  @Test
  void beginOnACommittedKeyThrowsFileAlreadyExists() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("committed"), 1);
    put(key, bytes(1, 100));

    assertThatThrownBy(() -> store.begin(key))
        .isInstanceOf(FileAlreadyExistsException.class)
        .hasMessageContaining("image " + key + " is already committed in " + store.describe());
  }

  @Test
  void ofTwoUploadsOfOneKeyOnlyTheFirstCommitWins() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("race"), 1);
    byte[] first = bytes(1, 2 * PART);
    byte[] second = bytes(2, 100);
    try (ImageUpload a = store.begin(key);
        ImageUpload b = store.begin(key)) {
      write(a.data(), first);
      write(b.data(), second);

      a.commit(aManifest(key, first));
      assertThatThrownBy(() -> b.commit(aManifest(key, second)))
          .isInstanceOf(FileAlreadyExistsException.class)
          .hasMessageContaining("already committed");
    }

    assertThat(store.manifest(key)).contains(aManifest(key, first));
    assertThat(read(key)).isEqualTo(first);
  }

  @Test
  void storesUnderDifferentPrefixesDoNotSeeEachOther() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("shared"), 1);
    byte[] mine = bytes(1, 100);
    byte[] theirs = bytes(2, 200);
    byte[] atRoot = bytes(3, 300);
    put(key, mine);
    try (S3ImageStore other = open(prefix + "-other");
        S3ImageStore root = open("")) {
      assertThat(other.seqs(key.workflowId())).isEmpty();
      assertThat(other.workflowIds()).doesNotContain(key.workflowId());
      try (ImageUpload upload = other.begin(key)) { // the same key is free there
        upload.data().write(theirs);
        upload.commit(aManifest(key, theirs));
      }
      try (ImageUpload upload = root.begin(key)) {
        upload.data().write(atRoot);
        upload.commit(aManifest(key, atRoot));
      }

      store.delete(key);

      assertThat(store.seqs(key.workflowId())).isEmpty();
      try (InputStream in = other.openData(key)) {
        assertThat(in.readAllBytes()).isEqualTo(theirs);
      }
      try (InputStream in = root.openData(key)) {
        assertThat(in.readAllBytes()).isEqualTo(atRoot);
      }
      assertThat(root.describe()).isEqualTo("s3://" + BUCKET + " at " + s3.endpoint());
      root.delete(key);
    }
  }

  @Test
  void describeNamesTheBucketThePrefixAndTheEndpoint() {
    assertThat(store.describe()).isEqualTo("s3://" + BUCKET + "/" + prefix + " at " + s3.endpoint());
  }

  @Test
  void dataWithoutAManifestIsInvisible() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("data-only"), 1);
    raw.putObject(b -> b.bucket(BUCKET).key(prefix + "/" + key.dataKey()), RequestBody.fromBytes(bytes(1, 10)));

    assertThat(store.seqs(key.workflowId())).isEmpty();
    assertThat(store.workflowIds()).doesNotContain(key.workflowId());
    assertThat(store.manifest(key)).isEmpty();
    assertThatThrownBy(() -> store.openData(key)).isInstanceOf(ImageNotFoundException.class);

    byte[] data = bytes(2, 20); // and the next commit replaces the leftover
    put(key, data);
    assertThat(read(key)).isEqualTo(data);
  }

  @Test
  void aManifestWithoutDataIsReportedAsDamage() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("no-data"), 1);
    put(key, bytes(1, 10));
    raw.deleteObject(b -> b.bucket(BUCKET).key(prefix + "/" + key.dataKey()));

    assertThatThrownBy(() -> store.openData(key))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining("image " + key + " in " + store.describe() + " has a manifest but no data")
        .hasMessageContaining("delete image " + key);
  }

  @Test
  void aCorruptManifestIsReportedWithItsKey() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("corrupt"), 1);
    put(key, bytes(1, 10));
    Path stored = s3.basedir().resolve(BUCKET).resolve(prefix).resolve(key.manifestKey());
    assertThat(stored).isRegularFile();
    Files.writeString(stored, "{\"format\": 1, \"workflowId\": ", StandardCharsets.UTF_8);

    assertThatThrownBy(() -> store.manifest(key))
        .isInstanceOf(CorruptManifestException.class)
        .hasMessageContaining("s3://" + BUCKET + "/" + prefix + "/" + key.manifestKey())
        .hasMessageContaining("truncated");
  }

  @Test
  void anImageReplacedWhileItIsReadFailsTheReadInsteadOfMixingImages() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("replaced"), 1);
    byte[] before = bytes(1, 8 * PART);
    put(key, before);
    try (InputStream in = store.openData(key)) {
      assertThat(in.read()).isEqualTo(before[0] & 0xff); // the first ranges are fetched
      store.delete(key);
      put(key, bytes(2, 8 * PART));

      assertThatThrownBy(in::readAllBytes)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("image " + key)
          .hasMessageContaining("was deleted or replaced while it was read");
    }
  }
}
