package dev.torpor.storage;

import static dev.torpor.storage.TestManifests.aManifest;
import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.TestManifests.manifestFor;
import static dev.torpor.storage.TestManifests.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every {@link ImageStore} must do, tested through the SPI alone (no file system or bucket
 * assumptions). A store's test extends this class and implements {@link #newStore()}, and {@link
 * #overwriteManifest} to damage a store behind its back; it is shipped in the test-jar so stores
 * in other modules reuse it.
 *
 * <p>Each test uses fresh, random workflow ids, so a store may share its backing bucket or
 * directory between tests.
 */
public abstract class ImageStoreContractTest {
  /** The store under test, opened before each test and closed after it. */
  protected ImageStore store;

  /** A new store for one test. */
  protected abstract ImageStore newStore() throws Exception;

  /**
   * Replaces the stored manifest of {@code key} in {@link #store} with {@code content}, behind the
   * store's back (as a damaged disk or a careless hand would): the only way to store a manifest
   * the SPI refuses to write.
   */
  protected abstract void overwriteManifest(ImageKey key, byte[] content) throws Exception;

  /** The size of each image the concurrency tests write; a remote store may want less. */
  protected int concurrentImageSize() {
    return 256 * 1024;
  }

  /** How many writer threads the concurrency tests run. */
  protected int writerThreads() {
    return 8;
  }

  /** How many images each writer thread commits in the concurrency tests. */
  protected int imagesPerWriter() {
    return 5;
  }

  /** How long a concurrency test may take before it fails. */
  protected long concurrencyTimeoutSeconds() {
    return 120;
  }

  /** Where the application-jar tests write jars and fetch them to; not the store's folder. */
  @TempDir Path jars;

  @BeforeEach
  void openStore() throws Exception {
    store = newStore();
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  /** A workflow id no other test (or earlier run against the same bucket) uses. */
  protected static String newWorkflowId(String base) {
    return base + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Writes and commits {@code data} under {@code key}, returning the committed manifest. */
  protected ImageManifest put(ImageKey key, byte[] data) throws IOException {
    ImageManifest manifest = aManifest(key, data);
    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);
      upload.commit(manifest);
    }
    return manifest;
  }

  /** Writes {@code content} to a file named {@code name} in {@link #jars}. */
  protected Path aJar(String name, byte[] content) throws IOException {
    return Files.write(jars.resolve(name), content);
  }

  /** The names of the files in {@code dir}, sorted. */
  protected static List<String> fileNames(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  /** Writes and commits {@code data} under {@code key} as a chunked image (format 2) that reads {@code packs}. */
  protected ImageManifest putChunked(ImageKey key, byte[] data, List<Long> packs) throws IOException {
    ImageManifest manifest = manifestFor(key, data).chunked(data.length / 2, packs).build();
    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);
      upload.commit(manifest);
    }
    return manifest;
  }

  /**
   * Leaves a data object without a manifest under {@code key}: an abandoned upload, or the pack of
   * a deleted image that later images read. An upload closed before its commit removes its data,
   * so the image is committed, then its manifest deleted.
   */
  protected void putDataOnly(ImageKey key, byte[] data) throws IOException {
    put(key, data);
    store.deleteManifest(key);
  }

  /** Reads the whole of a range of a data object. */
  protected byte[] readRange(ImageKey key, long offset, long length) throws IOException {
    try (InputStream in = store.openRange(key, offset, length)) {
      return in.readAllBytes();
    }
  }

  /** Reads the whole data of a committed image. */
  protected byte[] readData(ImageKey key) throws IOException {
    try (InputStream in = store.openData(key)) {
      return in.readAllBytes();
    }
  }

  private void assertInvisible(ImageKey key) throws IOException {
    assertThat(store.seqs(key.workflowId())).doesNotContain(key.seq());
    assertThat(store.manifest(key)).isEmpty();
    assertThatThrownBy(() -> store.openData(key))
        .isInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining(key.toString())
        .satisfies(e -> assertThat(((ImageNotFoundException) e).key()).isEqualTo(key));
  }

  @Test
  void committedImageRoundTripsDataAndManifest() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("roundtrip"), 1);
    byte[] data = bytes(1, 100_000);

    ImageManifest manifest = put(key, data);

    assertThat(store.manifest(key)).contains(manifest);
    assertThat(readData(key)).isEqualTo(data);
    assertThat(store.seqs(key.workflowId())).containsExactly(1L);
  }

  @Test
  void emptyImageRoundTrips() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("empty"), 1);

    ImageManifest manifest = put(key, new byte[0]);

    assertThat(store.manifest(key)).contains(manifest);
    assertThat(readData(key)).isEmpty();
  }

  @Test
  void dataWrittenButNotCommittedIsInvisibleUntilTheManifestIsCommitted() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("manifest-last"), 1);
    byte[] data = bytes(2, 50_000);

    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);
      upload.data().flush();

      assertThat(store.seqs(key.workflowId())).isEmpty();
      assertThat(store.latest(key.workflowId())).isEmpty();
      assertInvisible(key);

      upload.commit(aManifest(key, data));
    }

    assertThat(store.seqs(key.workflowId())).containsExactly(1L);
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void closingWithoutCommitAbortsAndLeavesNothingVisible() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("abort"), 1);
    ImageUpload upload = store.begin(key);
    upload.data().write(bytes(3, 10_000));

    upload.close();
    upload.close(); // a second close is harmless

    assertInvisible(key);
    assertThat(store.seqs(key.workflowId())).isEmpty();
    assertThatThrownBy(() -> upload.data().write(1)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> upload.commit(aManifest(key, new byte[0])))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(key.toString());
    // Nothing of the aborted upload blocks writing the key again.
    byte[] data = bytes(4, 1_000);
    put(key, data);
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void seqsListsCommittedImagesAscendingAndOnlyOfTheWorkflow() throws IOException {
    String workflow = newWorkflowId("list");
    String other = newWorkflowId("other");
    for (long seq : new long[] {3, 1, 10, 2, 7}) {
      put(new ImageKey(workflow, seq), bytes(seq, 100));
    }
    put(new ImageKey(other, 5), bytes(5, 100));

    assertThat(store.seqs(workflow)).containsExactly(1L, 2L, 3L, 7L, 10L);
    assertThat(store.seqs(other)).containsExactly(5L);
    assertThat(store.seqs(newWorkflowId("never-written"))).isEmpty();
  }

  @Test
  void latestIsTheNewestCommittedImage() throws IOException {
    String workflow = newWorkflowId("latest");
    assertThat(store.latest(workflow)).isEmpty();
    put(new ImageKey(workflow, 1), bytes(1, 10));
    ImageManifest second = put(new ImageKey(workflow, 2), bytes(2, 10));
    ImageManifest third = put(new ImageKey(workflow, 3), bytes(3, 10));
    try (ImageUpload uncommitted = store.begin(new ImageKey(workflow, 4))) {
      uncommitted.data().write(bytes(4, 10));

      assertThat(store.latest(workflow)).contains(third);
    }

    store.delete(new ImageKey(workflow, 3));

    assertThat(store.latest(workflow)).contains(second);
  }

  @Test
  void deleteRemovesTheImageIsIdempotentAndSparesOthers() throws IOException {
    String workflow = newWorkflowId("delete");
    ImageKey doomed = new ImageKey(workflow, 1);
    ImageKey kept = new ImageKey(workflow, 2);
    put(doomed, bytes(1, 1_000));
    byte[] keptData = bytes(2, 1_000);
    ImageManifest keptManifest = put(kept, keptData);

    store.delete(doomed);

    assertInvisible(doomed);
    assertThat(store.seqs(workflow)).containsExactly(2L);
    assertThat(store.manifest(kept)).contains(keptManifest);
    assertThat(readData(kept)).isEqualTo(keptData);

    store.delete(doomed); // again: nothing to do, no error
    store.delete(new ImageKey(newWorkflowId("never-written"), 1));
    assertInvisible(doomed);

    // Both the manifest and the data are gone: the key can be written afresh.
    byte[] fresh = bytes(3, 2_000);
    ImageManifest freshManifest = put(doomed, fresh);
    assertThat(store.manifest(doomed)).contains(freshManifest);
    assertThat(readData(doomed)).isEqualTo(fresh);
  }

  @Test
  void beginOnACommittedKeyFailsAndKeepsTheImage() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("immutable"), 1);
    byte[] data = bytes(1, 1_000);
    ImageManifest manifest = put(key, data);

    assertThatThrownBy(() -> store.begin(key))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(key.toString())
        .hasMessageContaining("already committed");

    assertThat(store.manifest(key)).contains(manifest);
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void commitRejectsAManifestOfAnotherKey() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("mismatch"), 2);
    byte[] data = bytes(1, 1_000);
    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);

      assertThatThrownBy(() -> upload.commit(aManifest(new ImageKey(key.workflowId(), 3), data)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(key.toString())
          .hasMessageContaining(key.workflowId() + "#3");
      assertThatThrownBy(() -> upload.commit(aManifest(new ImageKey("someone-else", 2), data)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("someone-else#2");
    }

    assertInvisible(key);
    assertInvisible(new ImageKey(key.workflowId(), 3));
  }

  @Test
  void anUploadCommitsOnlyOnce() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("once"), 1);
    byte[] data = bytes(1, 1_000);
    ImageManifest manifest = aManifest(key, data);
    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);
      upload.commit(manifest);

      assertThatThrownBy(() -> upload.commit(manifest))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already committed");
    }

    assertThat(store.manifest(key)).contains(manifest);
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void workflowIdsListsEveryWorkflowWithACommittedImageSorted() throws IOException {
    String first = newWorkflowId("ids-b");
    String second = newWorkflowId("ids-a");
    String uncommitted = newWorkflowId("ids-uncommitted");
    String deleted = newWorkflowId("ids-deleted");
    String aborted = newWorkflowId("ids-aborted");
    put(new ImageKey(first, 1), bytes(1, 100));
    put(new ImageKey(first, 2), bytes(2, 100));
    put(new ImageKey(second, 7), bytes(7, 100));
    put(new ImageKey(deleted, 1), bytes(1, 100));
    store.delete(new ImageKey(deleted, 1));
    try (ImageUpload upload = store.begin(new ImageKey(aborted, 1))) {
      upload.data().write(bytes(1, 100));
    }
    try (ImageUpload upload = store.begin(new ImageKey(uncommitted, 1))) {
      upload.data().write(bytes(1, 100));
      upload.data().flush();

      // The store may be shared with other tests: only our workflows are known.
      assertThat(store.workflowIds())
          .isSorted()
          .doesNotHaveDuplicates()
          .contains(first, second)
          .doesNotContain(uncommitted, deleted, aborted);
    }
    store.delete(new ImageKey(first, 1));
    assertThat(store.workflowIds()).contains(first, second); // seq 2 is left

    store.delete(new ImageKey(first, 2));
    assertThat(store.workflowIds()).contains(second).doesNotContain(first);
  }

  @Test
  void openRangeReadsTheExactBytesOfARange() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("range"), 1);
    byte[] data = bytes(1, 100_000);
    put(key, data);

    assertThat(readRange(key, 0, 1_000)).as("the start").isEqualTo(Arrays.copyOfRange(data, 0, 1_000));
    assertThat(readRange(key, 12_345, 6_789)).as("the middle").isEqualTo(Arrays.copyOfRange(data, 12_345, 19_134));
    assertThat(readRange(key, 99_000, 1_000)).as("the end").isEqualTo(Arrays.copyOfRange(data, 99_000, 100_000));
    assertThat(readRange(key, 99_999, 1)).as("the last byte").isEqualTo(Arrays.copyOfRange(data, 99_999, 100_000));
    assertThat(readRange(key, 0, data.length)).as("the whole object").isEqualTo(data);
    assertThat(readRange(key, 500, 0)).as("an empty range").isEmpty();
    assertThat(readRange(key, data.length, 0)).as("an empty range at the end").isEmpty();
  }

  @Test
  void aRangeReadBytewiseOrSkippedEndsAtItsEnd() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("range-stream"), 1);
    byte[] data = bytes(2, 10_000);
    put(key, data);

    try (InputStream in = store.openRange(key, 1_000, 100)) {
      assertThat(in.available()).as("available").isBetween(0, 100);
      assertThat(in.read()).isEqualTo(data[1_000] & 0xff);
      long skipped = in.skip(9);
      byte[] rest = in.readAllBytes();

      assertThat(1 + skipped + rest.length).isEqualTo(100);
      assertThat(rest).isEqualTo(Arrays.copyOfRange(data, 1_001 + (int) skipped, 1_100));
      assertThat(in.read()).isEqualTo(-1);
    }
    try (InputStream in = store.openRange(key, 1_000, 100)) {
      long skipped = in.skip(500); // past the range's end: the stream skips no further than it

      byte[] rest = in.readAllBytes();
      assertThat(skipped + rest.length).as("bytes skipped and read").isEqualTo(100);
      assertThat(in.read()).isEqualTo(-1);
    }
    try (InputStream in = store.openRange(key, 1_000, 100)) {
      if (in.markSupported()) {
        in.mark(100);
        assertThat(in.readNBytes(10)).isEqualTo(Arrays.copyOfRange(data, 1_000, 1_010));
        in.reset();
      }
      assertThat(in.readAllBytes()).as("the whole range, after a reset if any").isEqualTo(Arrays.copyOfRange(data, 1_000, 1_100));
    }
  }

  @Test
  void openRangeReadsADataObjectWhoseManifestIsDeleted() throws IOException {
    ImageKey key = new ImageKey(newWorkflowId("range-no-manifest"), 1);
    byte[] data = bytes(3, 10_000);
    put(key, data);

    store.deleteManifest(key);

    assertInvisible(key); // the image is gone, its data object is not
    assertThat(readRange(key, 0, data.length)).isEqualTo(data);
    assertThat(readRange(key, 4_000, 10)).isEqualTo(Arrays.copyOfRange(data, 4_000, 4_010));
  }

  @Test
  void openRangeOfAMissingDataObjectThrowsImageNotFound() throws IOException {
    String workflow = newWorkflowId("range-missing");
    ImageKey neverWritten = new ImageKey(workflow, 1);
    ImageKey deleted = new ImageKey(workflow, 2);
    ImageKey manifestOnly = new ImageKey(workflow, 3);
    put(deleted, bytes(2, 100));
    store.delete(deleted);
    put(manifestOnly, bytes(3, 100));
    store.deleteData(manifestOnly);

    for (ImageKey key : List.of(neverWritten, deleted, manifestOnly)) {
      for (long length : new long[] {10, 0}) {
        assertThatThrownBy(() -> store.openRange(key, 0, length))
            .as("%s, %s bytes", key, length)
            .isInstanceOf(ImageNotFoundException.class)
            .hasMessageContaining(key.toString())
            .satisfies(e -> assertThat(((ImageNotFoundException) e).key()).isEqualTo(key));
      }
    }
  }

  @Test
  void aRangePastTheEndOfItsDataObjectIsReportedAsDamage() throws IOException {
    String workflow = newWorkflowId("range-short");
    ImageKey key = new ImageKey(workflow, 1);
    put(key, bytes(4, 1_000));
    ImageKey empty = new ImageKey(workflow, 2);
    put(empty, new byte[0]);

    long[][] ranges = {{900, 200}, {0, 1_001}, {999, 2}, {1_000, 1}, {5_000, 10}, {5_000, 0}};
    for (long[] range : ranges) {
      assertThatThrownBy(() -> readRange(key, range[0], range[1]))
          .as("%s bytes from %s of a 1000-byte object", range[1], range[0])
          .isInstanceOf(IOException.class)
          .isNotInstanceOf(ImageNotFoundException.class)
          .hasMessageContaining(key.toString())
          .hasMessageContaining("damaged");
    }
    assertThatThrownBy(() -> readRange(empty, 0, 1))
        .as("a byte of an empty object")
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining(empty.toString())
        .hasMessageContaining("damaged");
  }

  @Test
  void dataSeqsListsDataObjectsWithOrWithoutManifestsAscendingAndOnlyOfTheWorkflow() throws IOException {
    String workflow = newWorkflowId("data-seqs");
    String other = newWorkflowId("data-seqs-other");
    for (long seq : new long[] {7, 1, 3, 10, 2}) {
      put(new ImageKey(workflow, seq), bytes(seq, 100));
    }
    store.deleteManifest(new ImageKey(workflow, 3)); // data outliving its manifest
    store.deleteData(new ImageKey(workflow, 10)); // a manifest without data is no data object
    try (ImageUpload aborted = store.begin(new ImageKey(workflow, 12))) {
      aborted.data().write(bytes(12, 100)); // closed uncommitted: aborted, no data left
    }
    put(new ImageKey(other, 5), bytes(5, 100));

    assertThat(store.dataSeqs(workflow)).containsExactly(1L, 2L, 3L, 7L);
    assertThat(store.seqs(workflow)).containsExactly(1L, 2L, 7L, 10L);
    assertThat(store.dataSeqs(other)).containsExactly(5L);
    assertThat(store.dataSeqs(newWorkflowId("never-written"))).isEmpty();
  }

  @Test
  void deleteManifestAndDeleteDataEachDeleteOneObjectAndAreIdempotent() throws IOException {
    String workflow = newWorkflowId("delete-parts");
    ImageKey key = new ImageKey(workflow, 1);
    put(key, bytes(1, 1_000));

    store.deleteManifest(key);
    store.deleteManifest(key); // again: no error

    assertInvisible(key);
    assertThat(store.dataSeqs(workflow)).containsExactly(1L);

    store.deleteData(key);
    store.deleteData(key); // again: no error

    assertThat(store.dataSeqs(workflow)).isEmpty();
    ImageKey neverWritten = new ImageKey(newWorkflowId("never-written"), 1);
    store.deleteManifest(neverWritten);
    store.deleteData(neverWritten);
    byte[] fresh = bytes(2, 500); // nothing is left to block the key
    put(key, fresh);
    assertThat(readData(key)).isEqualTo(fresh);
  }

  @Test
  void deleteKeepsTheDataObjectsThatRemainingChunkedImagesRead() throws IOException {
    String workflow = newWorkflowId("sweep-chunked");
    ImageKey one = new ImageKey(workflow, 1);
    ImageKey two = new ImageKey(workflow, 2);
    ImageKey three = new ImageKey(workflow, 3);
    byte[] first = bytes(1, 2_000);
    putChunked(one, first, List.of(1L));
    putChunked(two, bytes(2, 1_000), List.of(1L, 2L));
    ImageManifest third = putChunked(three, bytes(3, 1_000), List.of(1L, 3L));

    store.delete(one);

    assertInvisible(one);
    assertThat(store.seqs(workflow)).containsExactly(2L, 3L);
    assertThat(store.dataSeqs(workflow)).as("images 2 and 3 still read data object 1").containsExactly(1L, 2L, 3L);
    assertThat(readRange(one, 0, first.length)).isEqualTo(first);

    store.delete(two);

    assertInvisible(two);
    assertThat(store.seqs(workflow)).containsExactly(3L);
    assertThat(store.dataSeqs(workflow)).as("image 3 reads 1 and 3, nothing reads 2").containsExactly(1L, 3L);
    assertThatThrownBy(() -> store.openRange(two, 0, 1)).isInstanceOf(ImageNotFoundException.class);
    assertThat(store.manifest(three)).contains(third);

    store.delete(three);

    assertThat(store.seqs(workflow)).isEmpty();
    assertThat(store.dataSeqs(workflow)).as("no image is left to read any").isEmpty();
  }

  @Test
  void deleteOfATarImageRemovesItsManifestAndItsDataObject() throws IOException {
    String workflow = newWorkflowId("sweep-tar");
    ImageKey one = new ImageKey(workflow, 1);
    ImageKey two = new ImageKey(workflow, 2);
    ImageKey three = new ImageKey(workflow, 3);
    put(one, bytes(1, 1_000));
    byte[] second = bytes(2, 1_000);
    put(two, second);
    put(three, bytes(3, 1_000));

    store.delete(one);

    assertInvisible(one);
    assertThat(store.dataSeqs(workflow)).containsExactly(2L, 3L);

    store.delete(three); // the newest: its own data object goes too

    assertThat(store.seqs(workflow)).containsExactly(2L);
    assertThat(store.dataSeqs(workflow)).containsExactly(2L);
    assertThat(readData(two)).isEqualTo(second);
  }

  @Test
  void deleteLeavesDataNewerThanEveryRemainingImageUntilTheLastImageGoes() throws IOException {
    String workflow = newWorkflowId("sweep-in-flight");
    for (long seq = 1; seq <= 3; seq++) {
      put(new ImageKey(workflow, seq), bytes(seq, 1_000));
    }
    byte[] inFlight = bytes(5, 1_000);
    putDataOnly(new ImageKey(workflow, 5), inFlight); // an upload of seq 5, not committed yet
    assertThat(store.dataSeqs(workflow)).containsExactly(1L, 2L, 3L, 5L);

    store.delete(new ImageKey(workflow, 1));

    assertThat(store.seqs(workflow)).containsExactly(2L, 3L);
    assertThat(store.dataSeqs(workflow)).containsExactly(2L, 3L, 5L);
    assertThat(readRange(new ImageKey(workflow, 5), 0, inFlight.length)).isEqualTo(inFlight);

    store.delete(new ImageKey(workflow, 2));

    assertThat(store.dataSeqs(workflow)).containsExactly(3L, 5L);

    store.delete(new ImageKey(workflow, 3));

    assertThat(store.seqs(workflow)).isEmpty();
    assertThat(store.dataSeqs(workflow)).as("with no image left, every data object goes").isEmpty();
  }

  @Test
  void deleteRemovesAbandonedDataOlderThanTheNewestRemainingImage() throws IOException {
    String workflow = newWorkflowId("sweep-abandoned");
    put(new ImageKey(workflow, 1), bytes(1, 1_000));
    putDataOnly(new ImageKey(workflow, 2), bytes(2, 1_000)); // an upload that never committed
    put(new ImageKey(workflow, 3), bytes(3, 1_000));
    putDataOnly(new ImageKey(workflow, 4), bytes(4, 1_000)); // an upload that may still commit

    store.delete(new ImageKey(workflow, 1));

    assertThat(store.seqs(workflow)).containsExactly(3L);
    assertThat(store.dataSeqs(workflow)).containsExactly(3L, 4L);
  }

  @Test
  void aManifestThatCannotBeReadKeepsEveryDataObjectAndFailsTheDeleteAfterTheManifestIsGone()
      throws Exception {
    String workflow = newWorkflowId("sweep-unreadable");
    ImageKey one = new ImageKey(workflow, 1);
    ImageKey two = new ImageKey(workflow, 2);
    ImageKey three = new ImageKey(workflow, 3);
    put(one, bytes(1, 1_000));
    put(two, bytes(2, 1_000));
    putChunked(three, bytes(3, 1_000), List.of(1L, 3L));
    overwriteManifest(three, "{\"format\": 2, \"workflowId\": \"not json".getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(() -> store.delete(two))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(CorruptManifestException.class) // the delete's failure, caused by the manifest's
        .hasMessageContaining(workflow)
        .hasMessageContaining("cannot be read")
        .hasCauseInstanceOf(CorruptManifestException.class);

    assertInvisible(two);
    assertThat(store.seqs(workflow)).containsExactly(1L, 3L);
    assertThat(store.dataSeqs(workflow)).as("nothing is deleted that the unreadable manifest may need")
        .containsExactly(1L, 2L, 3L);

    store.deleteManifest(three); // once the unreadable manifest is dealt with, a delete sweeps again

    store.delete(two);

    assertThat(store.seqs(workflow)).containsExactly(1L);
    assertThat(store.dataSeqs(workflow)).containsExactly(1L, 3L); // 3 is newer than image 1
  }

  @Test
  void anAppJarRoundTripsThroughTheStore() throws IOException {
    byte[] content = bytes(11, 300_000);
    String sha = sha256Hex(content);
    store.putApp(sha, aJar("app.jar", content));
    Path target = jars.resolve("fetched.jar");

    store.fetchApp(sha, target);

    assertThat(target).hasBinaryContent(content);
    assertThat(fileNames(jars)).containsExactly("app.jar", "fetched.jar"); // no temp file left
  }

  @Test
  void fetchingAnAppJarKeepsTheFileAlreadyAtItsPathThatAJvmMayHoldOpen() throws IOException {
    byte[] content = bytes(12, 1_000);
    String sha = sha256Hex(content);
    store.putApp(sha, aJar("app.jar", content));
    Path target = aJar("held.jar", content);
    Object inode = Files.readAttributes(target, java.nio.file.attribute.BasicFileAttributes.class).fileKey();

    store.fetchApp(sha, target);

    assertThat(target).hasBinaryContent(content);
    assertThat(Files.readAttributes(target, java.nio.file.attribute.BasicFileAttributes.class).fileKey())
        .as("the same file, not a copy moved over it").isEqualTo(inode);
    try (var left = Files.list(target.getParent())) {
      assertThat(left.map(p -> p.getFileName().toString())).as("no temp file left").noneMatch(n -> n.endsWith(".tmp"));
    }
  }

  @Test
  void anEmptyAppJarRoundTrips() throws IOException {
    String sha = sha256Hex(new byte[0]);
    store.putApp(sha, aJar("empty.jar", new byte[0]));
    Path target = jars.resolve("fetched.jar");

    store.fetchApp(sha, target);

    assertThat(target).isEmptyFile();
  }

  @Test
  void puttingAnAppJarTwiceIsHarmless() throws IOException {
    byte[] content = bytes(14, 10_000);
    String sha = sha256Hex(content);
    store.putApp(sha, aJar("app.jar", content));

    store.putApp(sha, aJar("copy.jar", content));
    store.putApp(sha, jars.resolve("app.jar"));

    Path target = jars.resolve("fetched.jar");
    store.fetchApp(sha, target);
    assertThat(target).hasBinaryContent(content);
  }

  @Test
  void puttingAStoredAppJarAgainDoesNotReadTheJar() throws IOException {
    byte[] content = bytes(24, 5_000);
    String sha = sha256Hex(content);
    store.putApp(sha, aJar("app.jar", content));

    store.putApp(sha, jars.resolve("gone.jar")); // stored already: the file is not needed

    Path target = jars.resolve("fetched.jar");
    store.fetchApp(sha, target);
    assertThat(target).hasBinaryContent(content);
  }

  @Test
  void anAppJarWhoseHashIsWrongIsRefusedAndNotStored() throws IOException {
    byte[] content = bytes(15, 50_000);
    String claimed = sha256Hex(bytes(16, 50_000));
    Path jar = aJar("app.jar", content);

    assertThatThrownBy(() -> store.putApp(claimed, jar))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(jar.toString())
        .hasMessageContaining("has SHA-256 " + sha256Hex(content) + ", not " + claimed)
        .hasMessageContaining("not stored");

    Path target = jars.resolve("fetched.jar");
    assertThatThrownBy(() -> store.fetchApp(claimed, target))
        .isInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining(claimed);
    assertThat(fileNames(jars)).containsExactly("app.jar");
  }

  @Test
  void anEmptyAppJarWhoseHashIsWrongIsRefusedAndNotStored() throws IOException {
    String claimed = sha256Hex(bytes(17, 10));
    Path jar = aJar("empty.jar", new byte[0]);

    assertThatThrownBy(() -> store.putApp(claimed, jar))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not stored");

    assertThatThrownBy(() -> store.fetchApp(claimed, jars.resolve("fetched.jar")))
        .isInstanceOf(ImageNotFoundException.class);
  }

  @Test
  void aRefusedAppJarDoesNotBlockStoringTheRightOne() throws IOException {
    byte[] content = bytes(18, 20_000);
    String sha = sha256Hex(content);
    assertThatThrownBy(() -> store.putApp(sha, aJar("wrong.jar", bytes(19, 20_000))))
        .isInstanceOf(IllegalArgumentException.class);

    store.putApp(sha, aJar("right.jar", content));

    Path target = jars.resolve("fetched.jar");
    store.fetchApp(sha, target);
    assertThat(target).hasBinaryContent(content);
  }

  @Test
  void fetchingAMissingAppJarThrowsImageNotFound() {
    String sha = sha256Hex(bytes(20, 100));
    Path target = jars.resolve("fetched.jar");

    assertThatThrownBy(() -> store.fetchApp(sha, target))
        .isInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining("no application jar " + sha + " in " + store.describe())
        .satisfies(e -> assertThat(((ImageNotFoundException) e).appSha256()).isEqualTo(sha))
        .satisfies(e -> assertThat(((ImageNotFoundException) e).key()).isNull());
    assertThat(jars).isEmptyDirectory();
  }

  @Test
  void appJarsAreNotWorkflowsOrImages() throws IOException {
    String workflow = newWorkflowId("beside-apps");
    put(new ImageKey(workflow, 1), bytes(1, 100));
    List<String> before = store.workflowIds();
    byte[] content = bytes(21, 1_000);
    String sha = sha256Hex(content);

    store.putApp(sha, aJar("app.jar", content));

    assertThat(store.workflowIds())
        .isEqualTo(before)
        .contains(workflow)
        .doesNotContain("apps", sha, sha + ".jar");
    assertThat(store.seqs("apps")).isEmpty();
    assertThat(store.seqs(workflow)).containsExactly(1L);
  }

  static Stream<String> invalidSha256s() {
    String valid = "0123456789abcdef".repeat(4);
    return Stream.of(
        "",
        valid.substring(1), // 63 characters
        valid + "0", // 65 characters
        valid.toUpperCase(Locale.ROOT),
        valid.substring(1) + "g",
        "../" + valid.substring(3),
        " " + valid.substring(1));
  }

  @ParameterizedTest
  @MethodSource("invalidSha256s")
  void aBadSha256IsRejectedNamingIt(String sha) throws IOException {
    Path jar = aJar("app.jar", bytes(22, 100));
    Path target = jars.resolve("fetched.jar");

    assertThatThrownBy(() -> store.putApp(sha, jar))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + sha + "'")
        .hasMessageContaining("64 lowercase hex characters");
    assertThatThrownBy(() -> store.fetchApp(sha, target))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + sha + "'");
    assertThat(target).doesNotExist();
  }

  @Test
  void aNullSha256IsRejected() throws IOException {
    Path jar = aJar("app.jar", bytes(23, 100));

    assertThatThrownBy(() -> store.putApp(null, jar))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'null'");
    assertThatThrownBy(() -> store.fetchApp(null, jars.resolve("fetched.jar")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'null'");
  }

  /** A shared object name no other test (or earlier run against the same bucket) uses. */
  protected static String newSharedName(String base) {
    return base + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Reads the whole of a range of a shared object. */
  protected byte[] readShared(String name, long offset, long length) throws IOException {
    try (InputStream in = store.openSharedRange(name, offset, length)) {
      return in.readAllBytes();
    }
  }

  @Test
  void aSharedObjectRoundTripsUnderOneOrTwoSegments() throws IOException {
    String pack = newSharedName("pack") + ".pack";
    String marker = newSharedName("pack") + ".refs/" + newWorkflowId("wf");
    byte[] data = bytes(30, 100_000);
    byte[] small = bytes(31, 10);
    assertThat(store.sharedExists(pack)).isFalse();

    store.putShared(pack, data);
    store.putShared(marker, small);

    assertThat(store.sharedExists(pack)).isTrue();
    assertThat(store.sharedExists(marker)).isTrue();
    assertThat(store.sharedExists(newSharedName("never-written"))).isFalse();
    assertThat(readShared(pack, 0, data.length)).as("the whole object").isEqualTo(data);
    assertThat(readShared(pack, 12_345, 6_789)).as("the middle").isEqualTo(Arrays.copyOfRange(data, 12_345, 19_134));
    assertThat(readShared(pack, 99_999, 1)).as("the last byte").isEqualTo(Arrays.copyOfRange(data, 99_999, 100_000));
    assertThat(readShared(pack, 500, 0)).as("an empty range").isEmpty();
    assertThat(readShared(pack, data.length, 0)).as("an empty range at the end").isEmpty();
    assertThat(readShared(marker, 0, small.length)).as("the two-segment name").isEqualTo(small);
  }

  @Test
  void anEmptySharedObjectRoundTrips() throws IOException {
    String name = newSharedName("empty");

    store.putShared(name, new byte[0]);

    assertThat(store.sharedExists(name)).isTrue();
    assertThat(readShared(name, 0, 0)).isEmpty();
    assertThat(store.listShared(name)).containsOnlyKeys(name);
  }

  @Test
  void putSharedReplacesTheObject() throws IOException {
    String name = newSharedName("replaced") + "/marker";
    byte[] first = bytes(32, 1_000);
    byte[] second = bytes(33, 300);
    store.putShared(name, first);

    store.putShared(name, second);

    assertThat(readShared(name, 0, second.length)).isEqualTo(second);
    assertThatThrownBy(() -> readShared(name, 0, first.length))
        .as("the replaced object's length")
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(ImageNotFoundException.class);
    assertThat(store.listShared(name)).containsOnlyKeys(name);
  }

  @Test
  void aSharedRangePastTheEndIsAnIOException() throws IOException {
    String name = newSharedName("short");
    store.putShared(name, bytes(34, 1_000));
    String empty = newSharedName("short-empty");
    store.putShared(empty, new byte[0]);

    long[][] ranges = {{900, 200}, {0, 1_001}, {999, 2}, {1_000, 1}, {5_000, 10}, {5_000, 0}};
    for (long[] range : ranges) {
      assertThatThrownBy(() -> readShared(name, range[0], range[1]))
          .as("%s bytes from %s of a 1000-byte object", range[1], range[0])
          .isInstanceOf(IOException.class)
          .isNotInstanceOf(ImageNotFoundException.class)
          .hasMessageContaining(name);
    }
    assertThatThrownBy(() -> readShared(empty, 0, 1))
        .as("a byte of an empty object")
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining(empty);
  }

  @Test
  void openSharedRangeOfAMissingObjectThrowsImageNotFound() throws IOException {
    String neverWritten = newSharedName("missing");
    String deleted = newSharedName("missing-deleted") + "/marker";
    store.putShared(deleted, bytes(35, 100));
    store.deleteShared(deleted);

    for (String name : List.of(neverWritten, deleted)) {
      for (long length : new long[] {10, 0}) {
        assertThatThrownBy(() -> store.openSharedRange(name, 0, length))
            .as("%s, %s bytes", name, length)
            .isInstanceOf(ImageNotFoundException.class)
            .hasMessageContaining("no shared object " + name + " in " + store.describe())
            .satisfies(e -> assertThat(((ImageNotFoundException) e).sharedName()).isEqualTo(name))
            .satisfies(e -> assertThat(((ImageNotFoundException) e).key()).isNull());
      }
    }
  }

  @Test
  void listSharedReturnsExactlyTheNamesUnderAPrefixWithTheirLastWrite() throws IOException {
    String base = newSharedName("p");
    String other = newSharedName("p");
    List<String> names =
        List.of(base + ".pack", base + ".refs/wf-1", base + ".refs/wf-2", base + "-2.pack", base + "-2.refs/wf-1");
    Instant before = Instant.now();
    for (String name : names) {
      store.putShared(name, bytes(36, 100));
    }
    store.putShared(other + ".pack", bytes(37, 100));
    Instant after = Instant.now();

    SortedMap<String, Instant> all = store.listShared(base);
    assertThat(all).containsOnlyKeys(names);
    assertThat(all.keySet()).containsExactlyElementsOf(names.stream().sorted().toList());
    assertThat(all.values())
        .as("last written, by a clock that may keep whole seconds")
        .allSatisfy(t -> assertThat(t).isBetween(before.minusSeconds(5), after.plusSeconds(5)));
    assertThat(store.listShared(base + ".")).containsOnlyKeys(base + ".pack", base + ".refs/wf-1", base + ".refs/wf-2");
    assertThat(store.listShared(base + ".refs/")).containsOnlyKeys(base + ".refs/wf-1", base + ".refs/wf-2");
    assertThat(store.listShared(base + ".refs/wf-2")).containsOnlyKeys(base + ".refs/wf-2");
    assertThat(store.listShared(base + "-2.refs")).containsOnlyKeys(base + "-2.refs/wf-1");
    assertThat(store.listShared(base + ".refs/wf-3")).isEmpty();
    assertThat(store.listShared(newSharedName("never-written"))).isEmpty();
    assertThat(store.listShared("").keySet()).containsAll(names).contains(other + ".pack");
  }

  @Test
  void deleteSharedRemovesTheObjectAndIsIdempotent() throws IOException {
    String folder = newSharedName("deleted") + ".refs";
    String one = folder + "/wf-1";
    String two = folder + "/wf-2";
    String top = newSharedName("deleted") + ".pack";
    store.putShared(one, bytes(38, 100));
    store.putShared(two, bytes(39, 100));
    store.putShared(top, bytes(40, 100));

    store.deleteShared(one);

    assertThat(store.sharedExists(one)).isFalse();
    assertThatThrownBy(() -> readShared(one, 0, 1)).isInstanceOf(ImageNotFoundException.class);
    assertThat(store.listShared(folder)).containsOnlyKeys(two);
    assertThat(readShared(two, 0, 100)).isEqualTo(bytes(39, 100));

    store.deleteShared(two); // the last of its folder
    store.deleteShared(two); // again: no error
    store.deleteShared(top);
    store.deleteShared(newSharedName("never-written"));
    store.deleteShared(newSharedName("never-written") + "/marker");

    assertThat(store.listShared(folder)).isEmpty();
    assertThat(store.sharedExists(top)).isFalse();
    store.putShared(two, bytes(41, 10)); // the folder is written again
    assertThat(store.listShared(folder)).containsOnlyKeys(two);
    assertThat(readShared(two, 0, 10)).isEqualTo(bytes(41, 10));
  }

  @Test
  void sharedObjectsAreNotWorkflowsOrImages() throws IOException {
    String workflow = newWorkflowId("beside-shared");
    put(new ImageKey(workflow, 1), bytes(1, 100));
    List<String> before = store.workflowIds();
    String top = newWorkflowId("shared-wf");
    String lookalike = newWorkflowId("shared-wf"); // a folder of names like an image's objects

    store.putShared(top, bytes(42, 100));
    store.putShared(lookalike + "/00000000000000000001.manifest.json", aManifestJson(lookalike));
    store.putShared(lookalike + "/00000000000000000001.tar.zst", bytes(43, 100));

    assertThat(store.workflowIds()).isEqualTo(before).contains(workflow).doesNotContain(top, lookalike, "shared");
    assertThat(store.seqs(top)).isEmpty();
    assertThat(store.seqs(lookalike)).isEmpty();
    assertThat(store.dataSeqs(lookalike)).isEmpty();
    assertThat(store.manifest(new ImageKey(lookalike, 1))).isEmpty();
    assertThat(store.seqs(workflow)).containsExactly(1L);
  }

  private static byte[] aManifestJson(String workflow) {
    return ManifestJson.toJson(aManifest(new ImageKey(workflow, 1), bytes(43, 100)));
  }

  @Test
  void aSharedNameOf160CharactersPerSegmentIsValid() throws IOException {
    String segment = newSharedName("long");
    segment += "x".repeat(160 - segment.length());
    String name = segment + "/" + "y".repeat(160);

    store.putShared(name, bytes(44, 10));

    assertThat(store.sharedExists(name)).isTrue();
    assertThat(store.listShared(segment)).containsOnlyKeys(name);
    store.deleteShared(name);
    assertThat(store.sharedExists(name)).isFalse();
  }

  static Stream<String> invalidSharedNames() {
    return Stream.of(
        "../x",
        "a/b/c",
        "",
        ".x",
        "a b",
        "..",
        "a/..",
        "a..b",
        "/a",
        "a/",
        "a//b",
        "a/.b",
        "_a",
        "-a",
        "a\\b",
        "a:b",
        "ä",
        "x".repeat(161),
        "a/" + "x".repeat(161));
  }

  @ParameterizedTest
  @MethodSource("invalidSharedNames")
  void anInvalidSharedNameIsRefusedNamingIt(String name) {
    String valid = "one or two segments joined by '/'";
    assertThatThrownBy(() -> store.putShared(name, new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + name + "'")
        .hasMessageContaining(valid);
    assertThatThrownBy(() -> store.sharedExists(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + name + "'");
    assertThatThrownBy(() -> store.openSharedRange(name, 0, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + name + "'");
    assertThatThrownBy(() -> store.deleteShared(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + name + "'");
  }

  @Test
  void aNullSharedNameIsRefused() {
    assertThatThrownBy(() -> store.putShared(null, new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'null'");
    assertThatThrownBy(() -> store.sharedExists(null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.deleteShared(null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.listShared(null)).isInstanceOf(IllegalArgumentException.class);
  }

  static Stream<String> invalidSharedPrefixes() {
    return Stream.of("..", "../", "a/../", "a..", ".", "/", "/a", "a b", "a/b/", "a/b/c", "a//", "a*", "x".repeat(161));
  }

  @ParameterizedTest
  @MethodSource("invalidSharedPrefixes")
  void anInvalidListSharedPrefixIsRefusedNamingIt(String prefix) {
    assertThatThrownBy(() -> store.listShared(prefix))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + prefix + "'");
  }

  @Test
  void aListSharedPrefixMayBeAnyStartOfAName() throws IOException {
    for (String prefix : List.of("", "a", "a.", "a-", "a/", "a/b", "a/b.", "0_", "x".repeat(160), "a/" + "x".repeat(160))) {
      assertThat(store.listShared(prefix)).as("prefix '%s'", prefix).isNotNull();
    }
  }

  @Test
  void concurrentWritersOfDifferentWorkflowsAllCommit() throws Exception {
    int writers = writerThreads();
    int images = imagesPerWriter();
    List<String> workflows = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      workflows.add(newWorkflowId("concurrent-" + w));
    }
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        String workflow = workflows.get(w);
        long seed = w * 1_000L;
        done.add(pool.submit(writer(start, workflow, seed, images, concurrentImageSize(), 0)));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(concurrencyTimeoutSeconds(), TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    for (int w = 0; w < writers; w++) {
      String workflow = workflows.get(w);
      assertThat(store.seqs(workflow)).hasSize(images).isSorted().containsOnly(seqsUpTo(images));
      for (long seq = 1; seq <= images; seq++) {
        ImageKey key = new ImageKey(workflow, seq);
        byte[] expected = imageBytes(w * 1_000L, seq, concurrentImageSize());
        assertThat(readData(key)).as("data of %s", key).isEqualTo(expected);
        assertThat(store.manifest(key)).contains(aManifest(key, expected));
      }
    }
  }

  @Test
  void readersNeverSeeAManifestWhoseDataIsIncomplete() throws Exception {
    int writers = Math.max(2, writerThreads() / 2);
    int readers = 2;
    int images = 2 * imagesPerWriter();
    // Small images: readers hash each one as it appears, and must be quick to poll again.
    int size = Math.max(1, concurrentImageSize() / 8);
    List<String> workflows = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      workflows.add(newWorkflowId("reader-" + w));
    }
    // Warm up first (class loading, JSON mapper, connections), or the readers may only start
    // polling when the writers are done.
    ImageKey warmUp = new ImageKey(newWorkflowId("warm-up"), 1);
    put(warmUp, bytes(0, 1_000));
    checkNewImages(warmUp.workflowId(), ConcurrentHashMap.newKeySet(), new ConcurrentLinkedQueue<>());

    Queue<String> problems = new ConcurrentLinkedQueue<>();
    List<Set<ImageKey>> checked = new ArrayList<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(writers + readers);
    try {
      List<Future<?>> readerTasks = new ArrayList<>();
      for (int r = 0; r < readers; r++) {
        Set<ImageKey> seen = ConcurrentHashMap.newKeySet();
        checked.add(seen);
        readerTasks.add(
            pool.submit(
                () -> {
                  start.await();
                  boolean lastPass = false;
                  while (!lastPass) {
                    lastPass = !writing.get(); // one full pass after every writer is done
                    for (String workflow : workflows) {
                      checkNewImages(workflow, seen, problems);
                    }
                  }
                  return null;
                }));
      }
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        done.add(pool.submit(writer(start, workflows.get(w), w * 7_000L, images, size, 4 * 1024)));
      }
      start.countDown();
      try {
        for (Future<?> f : done) {
          f.get(concurrencyTimeoutSeconds(), TimeUnit.SECONDS);
        }
      } finally {
        writing.set(false);
      }
      for (Future<?> f : readerTasks) {
        f.get(concurrencyTimeoutSeconds(), TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(problems).isEmpty();
    for (Set<ImageKey> seen : checked) {
      assertThat(seen).hasSize(writers * images); // the last pass alone sees every image
    }
  }

  /**
   * Checks, once each, the images of a workflow that became visible since the last call: the
   * moment an image appears is when a careless store would expose partial data.
   */
  private void checkNewImages(String workflow, Set<ImageKey> checked, Queue<String> problems)
      throws IOException {
    for (long seq : store.seqs(workflow)) {
      ImageKey key = new ImageKey(workflow, seq);
      if (checked.contains(key)) {
        continue;
      }
      Optional<ImageManifest> manifest = store.manifest(key);
      if (manifest.isEmpty()) {
        problems.add(key + " is listed but has no manifest");
        continue;
      }
      String actual;
      try (InputStream in = store.openData(key)) {
        actual = sha256Hex(in);
      } catch (IOException e) {
        problems.add(key + " has a manifest but its data cannot be read: " + e);
        continue;
      }
      if (!actual.equals(manifest.get().sha256())) {
        problems.add(
            key + " has data with SHA-256 " + actual + ", its manifest says " + manifest.get().sha256());
      }
      checked.add(key);
    }
  }

  /**
   * A task committing {@code images} images of about {@code size} bytes of {@code workflow}, seqs
   * 1 up, after {@code start}.
   * With {@code chunk > 0} the data is written (and flushed) in pieces of that size, to widen the
   * window in which a careless store would expose partial data.
   */
  private Callable<Void> writer(
      CountDownLatch start, String workflow, long seed, int images, int size, int chunk) {
    return () -> {
      start.await();
      for (long seq = 1; seq <= images; seq++) {
        ImageKey key = new ImageKey(workflow, seq);
        byte[] data = imageBytes(seed, seq, size);
        try (ImageUpload upload = store.begin(key)) {
          write(upload.data(), data, chunk);
          upload.commit(aManifest(key, data));
        }
      }
      return null;
    };
  }

  private static byte[] imageBytes(long seed, long seq, int size) {
    return bytes(seed + seq, size + (int) seq);
  }

  private static void write(OutputStream out, byte[] data, int chunk) throws IOException {
    if (chunk <= 0) {
      out.write(data);
      return;
    }
    for (int off = 0; off < data.length; off += chunk) {
      out.write(data, off, Math.min(chunk, data.length - off));
      out.flush();
    }
  }

  private static Long[] seqsUpTo(int n) {
    Long[] seqs = new Long[n];
    for (int i = 0; i < n; i++) {
      seqs[i] = i + 1L;
    }
    return seqs;
  }
}
