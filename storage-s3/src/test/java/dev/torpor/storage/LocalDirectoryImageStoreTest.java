package dev.torpor.storage;

import static dev.torpor.storage.TestManifests.aManifest;
import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.TestManifests.manifestFor;
import static dev.torpor.storage.TestManifests.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract, plus what only a local directory can show: its files and crashes mid-write. */
class LocalDirectoryImageStoreTest extends ImageStoreContractTest {
  @TempDir Path root;

  @Override
  protected ImageStore newStore() throws IOException {
    return new LocalDirectoryImageStore(root);
  }

  @Override
  protected void overwriteManifest(ImageKey key, byte[] content) throws IOException {
    writeFile(root.resolve(key.manifestKey()), content);
  }

  private Path tmp() {
    return root.resolve(LocalDirectoryImageStore.TMP_DIR);
  }

  private void assertInvisible(ImageKey key) throws IOException {
    assertThat(store.seqs(key.workflowId())).isEmpty();
    assertThat(store.manifest(key)).isEmpty();
    assertThat(store.latest(key.workflowId())).isEmpty();
    assertThatThrownBy(() -> store.openData(key)).isInstanceOf(ImageNotFoundException.class);
  }

  private static Path writeFile(Path file, byte[] content) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.write(file, content);
  }

  @Test
  void describeNamesTheRoot() {
    assertThat(store.describe()).isEqualTo("local:" + root.toAbsolutePath().normalize());
  }

  @Test
  void filesUseTheS3KeyLayoutAndNoTempFileRemains() throws IOException {
    ImageKey key = new ImageKey("layout", 42);
    byte[] data = bytes(1, 5_000);

    ImageManifest manifest = put(key, data);

    assertThat(key.dataKey()).isEqualTo("images/layout/00000000000000000042.tar.zst");
    assertThat(root.resolve(key.dataKey())).hasBinaryContent(data);
    byte[] json = Files.readAllBytes(root.resolve(key.manifestKey()));
    assertThat(ManifestJson.fromJson(json)).isEqualTo(manifest);
    assertThat(tmp()).isEmptyDirectory();
  }

  @Test
  void appJarsLiveInTheAppsFolderBesideImagesAndNoTempFileRemains() throws IOException {
    byte[] content = bytes(1, 5_000);
    String sha = sha256Hex(content);

    store.putApp(sha, aJar("app.jar", content));

    assertThat(root.resolve("apps").resolve(sha + ".jar")).hasBinaryContent(content);
    assertThat(tmp()).isEmptyDirectory();
    assertThat(root.resolve("images")).doesNotExist();
  }

  @Test
  void sharedObjectsLiveInTheSharedFolderAndNoTempFileRemains() throws IOException {
    byte[] pack = bytes(1, 5_000);
    byte[] marker = bytes(2, 10);

    store.putShared("p1.pack", pack);
    store.putShared("p1.refs/wf-7", marker);

    assertThat(root.resolve("shared/p1.pack")).hasBinaryContent(pack);
    assertThat(root.resolve("shared/p1.refs/wf-7")).hasBinaryContent(marker);
    assertThat(tmp()).isEmptyDirectory();
    assertThat(root.resolve("images")).doesNotExist();
  }

  @Test
  void deletingTheLastObjectOfASharedFolderRemovesTheFolder() throws IOException {
    store.putShared("p1.refs/wf-1", bytes(1, 10));
    store.putShared("p1.refs/wf-2", bytes(2, 10));
    store.putShared("p1.pack", bytes(3, 10));

    store.deleteShared("p1.refs/wf-1");
    assertThat(fileNames(root.resolve("shared/p1.refs"))).containsExactly("wf-2");

    store.deleteShared("p1.refs/wf-2");
    assertThat(fileNames(root.resolve("shared"))).containsExactly("p1.pack");

    store.deleteShared("p1.pack");
    assertThat(root.resolve("shared")).isEmptyDirectory(); // the top folder stays
    store.putShared("p1.refs/wf-3", bytes(4, 10)); // the same store makes the folder again
    assertThat(root.resolve("shared/p1.refs/wf-3")).hasBinaryContent(bytes(4, 10));
  }

  @Test
  void aSharedFolderHoldingAStrayFileStaysWhenItsLastObjectIsDeleted() throws IOException {
    store.putShared("p1.refs/wf-1", bytes(1, 10));
    writeFile(root.resolve("shared/p1.refs/.stray"), new byte[] {1});

    store.deleteShared("p1.refs/wf-1");

    assertThat(fileNames(root.resolve("shared/p1.refs"))).containsExactly(".stray");
    assertThat(store.listShared("")).isEmpty();
  }

  @Test
  void listSharedLeavesOutWhatTheStoreDoesNotWrite() throws IOException {
    store.putShared("p1.pack", bytes(1, 10));
    store.putShared("p1.refs/wf-1", bytes(2, 10));
    writeFile(root.resolve("shared/.p2.pack.tmp"), new byte[] {1}); // a hidden file
    writeFile(root.resolve("shared/has space"), new byte[] {1});
    writeFile(root.resolve("shared/p1.refs/.wf-2.tmp"), new byte[] {1});
    writeFile(root.resolve("shared/p1.refs/deeper/wf-3"), new byte[] {1}); // a third segment
    writeFile(root.resolve("shared/.hidden/wf-4"), new byte[] {1});
    Files.createDirectories(root.resolve("shared/empty-folder"));

    assertThat(store.listShared("")).containsOnlyKeys("p1.pack", "p1.refs/wf-1");
    assertThat(store.listShared("p1.refs/")).containsOnlyKeys("p1.refs/wf-1");
    assertThat(store.sharedExists("p1.refs")).as("a folder is no object").isFalse();
    assertThatThrownBy(() -> store.openSharedRange("p1.refs", 0, 0)).isInstanceOf(ImageNotFoundException.class);
    store.deleteShared("p1.refs"); // a folder is no object: nothing to delete
    assertThat(store.listShared("p1.refs/")).containsOnlyKeys("p1.refs/wf-1");
  }

  @Test
  void listSharedOfAStoreWithNothingSharedIsEmpty() throws IOException {
    assertThat(store.listShared("")).isEmpty();
    assertThat(store.listShared("p1.refs/")).isEmpty();
    assertThat(root.resolve("shared")).doesNotExist();
  }

  @Test
  void aRefusedAppJarLeavesNoFile() throws IOException {
    String claimed = sha256Hex(bytes(2, 5_000));

    assertThatThrownBy(() -> store.putApp(claimed, aJar("app.jar", bytes(1, 5_000))))
        .isInstanceOf(IllegalArgumentException.class);

    assertThat(root.resolve("apps")).isEmptyDirectory();
    assertThat(tmp()).isEmptyDirectory();
  }

  @Test
  void aDamagedAppJarIsNotFetchedAndTheTargetIsKept() throws IOException {
    byte[] content = bytes(1, 5_000);
    String sha = sha256Hex(content);
    store.putApp(sha, aJar("app.jar", content));
    Path stored = root.resolve("apps").resolve(sha + ".jar");
    Files.write(stored, bytes(2, 5_000));
    Path target = aJar("fetched.jar", new byte[] {1, 2, 3});

    assertThatThrownBy(() -> store.fetchApp(sha, target))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(ImageNotFoundException.class)
        .hasMessageContaining("corrupt application jar " + sha + " at " + stored)
        .hasMessageContaining("its SHA-256 is " + sha256Hex(bytes(2, 5_000)));

    assertThat(target).hasBinaryContent(new byte[] {1, 2, 3});
    assertThat(fileNames(jars)).containsExactly("app.jar", "fetched.jar");
  }

  @Test
  void anAbortLeavesNoTempFile() throws IOException {
    try (ImageUpload upload = store.begin(new ImageKey("aborted", 1))) {
      upload.data().write(bytes(1, 100_000));
      assertThat(tmp()).isNotEmptyDirectory();
    }

    assertThat(tmp()).isEmptyDirectory();
    assertThat(root.resolve(new ImageKey("aborted", 1).dataKey())).doesNotExist();
  }

  @Test
  void leftoverDataWithoutAManifestIsInvisibleAndReplacedByTheNextCommit() throws IOException {
    ImageKey key = new ImageKey("leftover", 1);
    writeFile(root.resolve(key.dataKey()), "half an ima".getBytes(StandardCharsets.UTF_8));

    assertInvisible(key);

    byte[] data = bytes(2, 3_000);
    put(key, data);
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void leftoverTempFilesAreInvisibleAndKeptWhileFresh() throws IOException {
    ImageKey key = new ImageKey("temp", 1);
    byte[] data = bytes(1, 1_000);
    Path tempData = writeFile(tmp().resolve("temp-1-123.data"), data);
    Path tempManifest =
        writeFile(tmp().resolve("temp-1-456.manifest"), ManifestJson.toJson(aManifest(key, data)));

    assertInvisible(key);

    new LocalDirectoryImageStore(root); // reopening keeps temp files a live writer may own
    assertThat(tempData).exists();
    assertThat(tempManifest).exists();
  }

  @Test
  void staleTempFilesAreRemovedWhenAStoreOpens() throws IOException {
    FileTime twoHoursAgo = FileTime.from(Instant.now().minus(Duration.ofHours(2)));
    Path stale = writeFile(tmp().resolve("crashed-1-1.data"), bytes(1, 100));
    Files.setLastModifiedTime(stale, twoHoursAgo);
    Path fresh = writeFile(tmp().resolve("running-1-2.data"), bytes(2, 100));

    new LocalDirectoryImageStore(root);

    assertThat(stale).doesNotExist();
    assertThat(fresh).exists();
  }

  @Test
  void aCrashBetweenMovingTheDataAndWritingTheManifestLeavesNoImage() throws IOException {
    ImageKey key = new ImageKey("crashed", 7);
    byte[] data = bytes(7, 10_000);
    // The data made it into place; the manifest only got as far as a truncated temp file.
    writeFile(root.resolve(key.dataKey()), data);
    byte[] json = ManifestJson.toJson(aManifest(key, data));
    writeFile(tmp().resolve("crashed-7-99.manifest"), Arrays.copyOf(json, json.length / 2));

    assertInvisible(key);

    // The workflow can checkpoint the same seq again.
    assertThatCode(() -> put(key, data)).doesNotThrowAnyException();
    assertThat(store.seqs("crashed")).containsExactly(7L);
  }

  @Test
  void noManifestIsWrittenWhenTheDataCannotBePutInPlace() throws IOException {
    ImageKey key = new ImageKey("blocked", 1);
    byte[] data = bytes(1, 10_000);
    // A non-empty directory where the data goes makes moving the data into place fail.
    Path blocker = writeFile(root.resolve(key.dataKey()).resolve("blocker"), new byte[] {1});
    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);

      assertThatThrownBy(() -> upload.commit(aManifest(key, data))).isInstanceOf(IOException.class);
    }

    assertThat(root.resolve(key.manifestKey())).doesNotExist();
    assertThat(store.manifest(key)).isEmpty();
    assertThat(tmp()).isEmptyDirectory();
    Files.delete(blocker);
    Files.delete(blocker.getParent());
    put(key, data); // once the obstacle is gone the same key commits
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void strayFilesInAWorkflowFolderAreIgnored() throws IOException {
    ImageKey key = new ImageKey("stray", 3);
    put(key, bytes(3, 100));
    Path folder = root.resolve(ImageKey.workflowPrefix("stray"));
    for (String name :
        new String[] {
          "notes.txt",
          "1.manifest.json",
          "00000000000000000000.manifest.json", // seq 0
          "99999999999999999999.manifest.json", // beyond a long
          "0000000000000000000x.manifest.json",
          "00000000000000000004.tar.zst", // data without manifest
        }) {
      writeFile(folder.resolve(name), new byte[] {1});
    }

    assertThat(store.seqs("stray")).containsExactly(3L);
  }

  @Test
  void workflowIdsIgnoresStrayFilesAndFoldersWithoutAManifest() throws IOException {
    put(new ImageKey("kept", 1), bytes(1, 100));
    Path images = root.resolve("images");
    writeFile(images.resolve("data-only").resolve("00000000000000000001.tar.zst"), new byte[] {1});
    writeFile(images.resolve("stray-name").resolve("notes.txt"), new byte[] {1});
    writeFile(images.resolve("..hidden").resolve("00000000000000000001.manifest.json"), new byte[] {1});
    writeFile(images.resolve("a-file"), new byte[] {1});
    Files.createDirectories(images.resolve("empty"));

    assertThat(store.workflowIds()).containsExactly("kept");
  }

  @Test
  void workflowIdsOfAnEmptyStoreIsEmpty() throws IOException {
    assertThat(store.workflowIds()).isEmpty();
  }

  @Test
  void deleteRemovesTheManifestBeforeTheData() throws IOException {
    ImageKey key = new ImageKey("delete-order", 1);
    put(key, bytes(1, 100));
    // Make the data impossible to delete: a non-empty directory stands in its place.
    Path data = root.resolve(key.dataKey());
    Files.delete(data);
    writeFile(data.resolve("blocker"), new byte[] {1});

    assertThatThrownBy(() -> store.delete(key)).isInstanceOf(IOException.class);

    assertThat(root.resolve(key.manifestKey())).doesNotExist();
    assertThat(store.seqs("delete-order")).isEmpty();
  }

  @Test
  void beginOnACommittedKeyThrowsFileAlreadyExists() throws IOException {
    ImageKey key = new ImageKey("exists", 1);
    put(key, bytes(1, 100));

    assertThatThrownBy(() -> store.begin(key))
        .isInstanceOf(FileAlreadyExistsException.class)
        .hasMessageContaining(root.resolve(key.manifestKey()).toString())
        .hasMessageContaining("delete it first or write the next seq");
  }

  @Test
  void ofTwoUploadsOfOneKeyOnlyTheFirstCommitWins() throws IOException {
    ImageKey key = new ImageKey("race", 1);
    byte[] first = bytes(1, 1_000);
    byte[] second = bytes(2, 1_000);
    try (ImageUpload a = store.begin(key);
        ImageUpload b = store.begin(key)) {
      a.data().write(first);
      b.data().write(second);
      a.commit(aManifest(key, first));

      assertThatThrownBy(() -> b.commit(aManifest(key, second)))
          .isInstanceOf(FileAlreadyExistsException.class)
          .hasMessageContaining("already committed");
    }

    assertThat(readData(key)).isEqualTo(first);
    assertThat(store.manifest(key)).contains(aManifest(key, first));
    assertThat(tmp()).isEmptyDirectory();
  }

  @Test
  void commitRejectsAManifestWhosePackedBytesDifferFromTheDataWritten() throws IOException {
    ImageKey key = new ImageKey("size", 1);
    byte[] data = bytes(1, 1_000);
    try (ImageUpload upload = store.begin(key)) {
      upload.data().write(data);

      assertThatThrownBy(() -> upload.commit(manifestFor(key, data).packedBytes(999).build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("packedBytes=999")
          .hasMessageContaining("1000 bytes were written");
      assertThatThrownBy(() -> upload.commit(manifestFor(key, data).sha256("ABC").build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("sha256");

      upload.commit(aManifest(key, data)); // a rejected manifest does not spoil the upload
    }
    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void closingTheDataStreamDoesNotAbortTheUpload() throws IOException {
    ImageKey key = new ImageKey("closed-stream", 1);
    byte[] data = bytes(1, 70_000);
    try (ImageUpload upload = store.begin(key)) {
      try (OutputStream out = upload.data()) {
        out.write(data);
      }
      upload.commit(aManifest(key, data));
    }

    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void aCorruptManifestFileIsReportedWithItsPath() throws IOException {
    ImageKey key = new ImageKey("corrupt", 1);
    put(key, bytes(1, 100));
    Path manifest = root.resolve(key.manifestKey());
    Files.write(manifest, "{\"format\": 1, \"workflowId\": \"corr".getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(() -> store.manifest(key))
        .isInstanceOf(CorruptManifestException.class)
        .hasMessageContaining(manifest.toString())
        .hasMessageContaining("truncated");
  }

  @Test
  void aManifestStoredUnderAnotherKeyIsCorrupt() throws IOException {
    ImageKey key = new ImageKey("moved", 2);
    byte[] data = bytes(1, 100);
    put(new ImageKey("moved", 1), data);
    writeFile(root.resolve(key.dataKey()), data);
    Files.copy(root.resolve(new ImageKey("moved", 1).manifestKey()), root.resolve(key.manifestKey()));

    assertThatThrownBy(() -> store.manifest(key))
        .isInstanceOf(CorruptManifestException.class)
        .hasMessageContaining("describes image moved#1, not moved#2");
  }

  static Stream<String> invalidWorkflowIds() {
    return Stream.of("a/b", "..", "a..b", "has space", "", "-leading-dash", ".hidden", "x".repeat(129));
  }

  @ParameterizedTest
  @MethodSource("invalidWorkflowIds")
  void invalidWorkflowIdsAreRejectedNamingTheRule(String id) {
    assertThatThrownBy(() -> new ImageKey(id, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + id + "'")
        .hasMessageContaining("1 to 128 characters from A-Z a-z 0-9 . _ -");
    assertThatThrownBy(() -> store.seqs(id)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aNullWorkflowIdIsRejected() {
    assertThatThrownBy(() -> new ImageKey(null, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid workflow id 'null'");
  }

  @Test
  void aWorkflowIdOf128CharactersIsFine() throws IOException {
    ImageKey key = new ImageKey("w".repeat(128), 1);
    byte[] data = bytes(1, 100);

    put(key, data);

    assertThat(readData(key)).isEqualTo(data);
  }

  @Test
  void aSeqBelowOneIsRejected() {
    assertThatThrownBy(() -> new ImageKey("wf", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("seq must be >= 1, got 0");
  }

  @Test
  void aFileInPlaceOfTheRootIsAClearError() throws IOException {
    Path file = writeFile(root.resolve("not-a-dir"), new byte[] {1});

    assertThatThrownBy(() -> new LocalDirectoryImageStore(file)).isInstanceOf(IOException.class);
  }
}
