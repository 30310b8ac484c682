package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.WaitKind;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.LocalDirectoryImageStore;
import dev.torpor.storage.SharedPacks;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunked images (format 2, issue #15) through a real local store: a further image of a
 * workflow stores only the chunks that changed and restores whole, after the image it shares
 * chunks with is deleted too; a damaged or missing frame, or a damaged index, is refused with
 * what is wrong named, and the image restores once the bytes are back; encrypted frames need
 * their key; images of format 1 still restore; frames mostly replaced are written again.
 */
class ChunkedImagesTest {
  private static final String WF = "chunky";
  private static final int PAGES = 256;

  @TempDir Path tmp;
  private LocalDirectoryImageStore store;
  private final Random random = new Random(15);
  private int dumps;

  private final CheckpointEngine engine = new NoCheckpointEngine();


  @BeforeEach
  void open() throws IOException {
    store = new LocalDirectoryImageStore(tmp.resolve("store"));
  }

  /** Images of one workflow: its first image is not written into a shared pack (see {@link #ioSharing}). */
  private ImageIo io(int format, Optional<ImageKeyring> keys) {
    return new ImageIo(store, keys, Duration.ofSeconds(2), engine, WorkflowSpec.currentJavaHome(), format, false);
  }

  /** Images of several workflows, whose first images share chunks through shared packs. */
  private ImageIo ioSharing(Optional<ImageKeyring> keys) {
    return new ImageIo(store, keys, Duration.ofSeconds(2), engine, WorkflowSpec.currentJavaHome(),
        ImageManifest.FORMAT, true);
  }

  /** A dump as CRIU writes one: a page file, a small file of odd length and an empty one. */
  private Path dump(byte[] pages, String core) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("dump-" + (++dumps)));
    Files.write(dir.resolve("pages-1.img"), pages);
    Files.writeString(dir.resolve("core-1.img"), core);
    Files.write(dir.resolve("empty.img"), new byte[0]);
    return dir;
  }

  private byte[] randomPages(int n) {
    byte[] b = new byte[n * ChunkIndex.CHUNK];
    random.nextBytes(b);
    return b;
  }

  /** {@code pages} with every {@code every}-th page replaced by new random bytes. */
  private byte[] changed(byte[] pages, int every) {
    byte[] b = pages.clone();
    for (int p = 0; p < b.length / ChunkIndex.CHUNK; p += every) {
      byte[] fresh = new byte[ChunkIndex.CHUNK];
      random.nextBytes(fresh);
      System.arraycopy(fresh, 0, b, p * ChunkIndex.CHUNK, ChunkIndex.CHUNK);
    }
    return b;
  }

  private ImageManifest commit(ImageIo io, long seq, Path dump) throws Exception {
    return commit(io, WF, seq, dump);
  }

  /** Commits as a worker does for a workflow JVM run with {@code --no-aslr}, whose first images share chunks across workflows. */
  private ImageManifest commit(ImageIo io, String wf, long seq, Path dump) throws Exception {
    return commit(io, wf, seq, dump, true);
  }

  private ImageManifest commit(ImageIo io, String wf, long seq, Path dump, boolean noAslr) throws Exception {
    ImageKey key = new ImageKey(wf, seq);
    ImageIo.Facts facts = new ImageIo.Facts(key, new Suspend(wf, WaitKind.TIMER,
        Optional.of(Instant.now().plusSeconds(60)), Optional.empty(), "m", "stack", Optional.empty()),
        Map.of("vendor", "test"), "pipe:[1]", new SandboxPlan(tmp.resolve("run"), WorkflowSpec.currentJavaHome(), List.of()),
        noAslr);
    return io.commit(facts, dump, new HashMap<>(), System.nanoTime(), () -> true);
  }

  private Path fetch(ImageIo io, ImageManifest m) throws IOException {
    Path dir = tmp.resolve("restore-" + m.seq() + "-" + (++dumps));
    io.fetch(m, dir);
    return dir;
  }

  private static void assertSameFiles(Path restored, Path dumped) throws IOException {
    for (String name : List.of("pages-1.img", "core-1.img", "empty.img")) {
      assertThat(Files.readAllBytes(restored.resolve(name))).as(name).isEqualTo(Files.readAllBytes(dumped.resolve(name)));
    }
    try (var files = Files.list(restored)) {
      assertThat(files.count()).isEqualTo(3);
    }
  }

  private Path data(long seq) {
    return tmp.resolve("store").resolve(new ImageKey(WF, seq).dataKey());
  }

  @Test
  void aFurtherImageStoresOnlyWhatChangedAndRestoresWholeAfterTheImageItSharesWithIsDeleted() throws Exception {
    ImageIo io = io(ImageManifest.FORMAT, Optional.empty());
    byte[] pages = randomPages(PAGES);
    Path first = dump(pages, "core one");
    Path second = dump(changed(pages, 32), "core two, longer");

    ImageManifest m1 = commit(io, 1, first);
    ImageManifest m2 = commit(io, 2, second);

    assertThat(m1.format()).isEqualTo(ImageManifest.FORMAT_CHUNKED);
    assertThat(m1.chunks().packs()).containsExactly(1L);
    assertThat(m2.chunks().packs()).as("the second image reads the first one's frames").containsExactly(1L, 2L);
    assertThat(m2.packedBytes()).as("8 of 256 random pages changed").isLessThan(m1.packedBytes() / 5);
    assertThat(m2.rawBytes()).isEqualTo(Files.size(second.resolve("pages-1.img")) + "core two, longer".length());

    assertSameFiles(fetch(io, m2), second);
    assertSameFiles(fetch(io, m1), first);

    store.delete(m1.key());
    assertThat(store.manifest(m1.key())).isEmpty();
    assertThat(store.dataSeqs(WF)).as("image 2 still reads data object 1").containsExactly(1L, 2L);
    assertSameFiles(fetch(io(ImageManifest.FORMAT, Optional.empty()), m2), second);

    store.delete(m2.key());
    assertThat(store.dataSeqs(WF)).as("nothing is left once no image reads it").isEmpty();
  }

  @Test
  void aChainOfImagesGrowingFromEachOtherRestoresEachAndKeepsOnlyWhatTheNewestReads() throws Exception {
    ImageIo io = io(ImageManifest.FORMAT, Optional.empty());
    byte[] pages = randomPages(PAGES);
    ImageManifest previous = null;
    for (long seq = 1; seq <= 6; seq++) {
      pages = changed(pages, 16 + (int) seq);
      Path d = dump(pages, "core " + seq);
      ImageManifest m = commit(io, seq, d);
      if (previous != null) {
        store.delete(previous.key()); // as the janitor does once the newer image is recorded
      }
      assertSameFiles(fetch(io, m), d);
      assertThat(store.seqs(WF)).containsExactly(seq);
      assertThat(store.dataSeqs(WF)).as("image " + seq).containsExactlyElementsOf(m.chunks().packs());
      previous = m;
    }
  }

  @Test
  void identicalPagesOfOneImageAreStoredOnce() throws Exception {
    byte[] pages = new byte[PAGES * ChunkIndex.CHUNK];
    byte[] random = randomPages(16);
    System.arraycopy(random, 0, pages, 0, random.length); // 16 random pages, then 240 pages of zeros
    Path d = dump(pages, "core");
    ChunkedImages chunked = new ChunkedImages(store, Optional.empty(), 1);

    ChunkedImages.Written w = chunked.write(new ImageKey(WF, 1), d, new ByteArrayOutputStream(), null, List.of(), null);

    assertThat(w.newChunks()).as("16 random pages, one zero page, the core file; the empty file has no chunk").isEqualTo(18);
    assertThat(w.sharedChunks()).isZero();
  }

  @Test
  void framesMostlyReplacedAreWrittenAgainInsteadOfRead() throws Exception {
    ImageIo io = io(ImageManifest.FORMAT, Optional.empty());
    byte[] pages = randomPages(PAGES);
    commit(io, 1, dump(pages, "core"));
    byte[] mostlyNew = randomPages(PAGES);
    // Keep one page in eight of the first image: an eighth of each frame is not worth reading the frame for.
    for (int p = 0; p < PAGES; p += 8) {
      System.arraycopy(pages, p * ChunkIndex.CHUNK, mostlyNew, p * ChunkIndex.CHUNK, ChunkIndex.CHUNK);
    }
    Path d = dump(mostlyNew, "core");

    ImageManifest m2 = commit(io, 2, d);

    assertThat(m2.chunks().packs()).as("no frame of image 1 is read for an eighth of it").containsExactly(2L);
    assertSameFiles(fetch(io, m2), d);
  }

  @Test
  void aDamagedFrameIsRefusedNamingItAndTheImageRestoresOnceTheBytesAreBack() throws Exception {
    ImageIo io = io(ImageManifest.FORMAT, Optional.empty());
    byte[] pages = randomPages(PAGES);
    commit(io, 1, dump(pages, "core"));
    Path second = dump(changed(pages, 64), "core 2");
    ImageManifest m2 = commit(io, 2, second);
    byte[] intact = Files.readAllBytes(data(1));
    byte[] damaged = intact.clone();
    damaged[100] ^= 0x40; // inside frame 0 of data object 1, which image 2 reads

    Files.write(data(1), damaged);
    Path dir = tmp.resolve("refused");
    ImageIo reader = io(ImageManifest.FORMAT, Optional.empty());
    assertThatThrownBy(() -> reader.fetch(m2, dir))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("image chunky#2 is corrupt")
        .hasMessageContaining("of the data object of image chunky#1")
        .hasMessageContaining("pages-1.img at 4096")
        .hasMessageContaining("but the index says")
        .hasMessageContaining("refusing to restore it");
    assertThat(dir).doesNotExist();

    Files.write(data(1), intact);
    assertSameFiles(fetch(reader, m2), second);
  }

  @Test
  void aMissingDataObjectIsRefusedNamingItAndTheImageRestoresOnceItIsBack() throws Exception {
    ImageIo io = io(ImageManifest.FORMAT, Optional.empty());
    byte[] pages = randomPages(PAGES);
    commit(io, 1, dump(pages, "core"));
    Path second = dump(changed(pages, 64), "core 2");
    ImageManifest m2 = commit(io, 2, second);
    Path aside = tmp.resolve("aside");
    Files.move(data(1), aside);

    assertThatThrownBy(() -> io.fetch(m2, tmp.resolve("refused")))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("the data object of image chunky#1, which holds")
        .hasMessageContaining("is missing from local:");

    Files.move(aside, data(1), StandardCopyOption.ATOMIC_MOVE);
    assertSameFiles(fetch(io, m2), second);
  }

  @Test
  void aDamagedOrCutIndexIsRefused() throws Exception {
    ImageIo io = io(ImageManifest.FORMAT, Optional.empty());
    ImageManifest m = commit(io, 1, dump(randomPages(8), "core"));
    byte[] intact = Files.readAllBytes(data(1));
    byte[] damaged = intact.clone();
    damaged[damaged.length - 1] ^= 1;
    Files.write(data(1), damaged);

    assertThatThrownBy(() -> io.fetch(m, tmp.resolve("a")))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("its chunk index (bytes " + m.chunks().indexOffset())
        .hasMessageContaining("but the manifest says " + m.sha256());

    Files.write(data(1), java.util.Arrays.copyOf(intact, intact.length - 10));
    assertThatThrownBy(() -> io.fetch(m, tmp.resolve("b")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("chunky#1");
  }

  @Test
  void encryptedFramesShareChunksAndDoNotRestoreWithoutTheirKey() throws Exception {
    Optional<ImageKeyring> keys = Optional.of(ImageKeyring.fromEnvironmentValue("TEST_KEYS", ImageKeyring.generate()));
    ImageIo io = io(ImageManifest.FORMAT, keys);
    byte[] pages = randomPages(PAGES);
    String marker = "a secret the store must not see ".repeat(200);
    byte[] withMarker = pages.clone();
    byte[] m = marker.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(m, 0, withMarker, 0, m.length);
    Path first = dump(withMarker, "core");
    Path second = dump(changed(withMarker, 64), "core 2");

    ImageManifest m1 = commit(io, 1, first);
    ImageManifest m2 = commit(io, 2, second);

    assertThat(m2.encryption()).containsEntry("keyId", keys.get().currentKeyId());
    assertThat(m2.mac()).isNotNull();
    assertThat(m2.chunks().packs()).containsExactly(1L, 2L);
    assertThat(new String(Files.readAllBytes(data(1)), StandardCharsets.ISO_8859_1)).doesNotContain("a secret");
    assertSameFiles(fetch(io(ImageManifest.FORMAT, keys), m2), second);
    assertSameFiles(fetch(io, m1), first);
    assertThatThrownBy(() -> io(ImageManifest.FORMAT, Optional.empty()).fetch(m2, tmp.resolve("no-key")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(keys.get().currentKeyId());
  }

  @Test
  void anImageOfTheEarlierFormatStillRestoresAndTheNextImageIsChunked() throws Exception {
    byte[] pages = randomPages(PAGES);
    Path first = dump(pages, "core");
    ImageManifest m1 = commit(io(ImageManifest.FORMAT_TAR, Optional.empty()), 1, first);
    assertThat(m1.format()).isEqualTo(ImageManifest.FORMAT_TAR);
    assertThat(m1.chunks()).isNull();

    ImageIo upgraded = io(ImageManifest.FORMAT, Optional.empty());
    assertSameFiles(fetch(upgraded, m1), first);
    Path second = dump(changed(pages, 64), "core 2");
    ImageManifest m2 = commit(upgraded, 2, second);

    assertThat(m2.format()).isEqualTo(ImageManifest.FORMAT_CHUNKED);
    assertThat(m2.chunks().packs()).as("nothing to share with a tar image").containsExactly(2L);
    store.delete(m1.key());
    assertThat(store.dataSeqs(WF)).containsExactly(2L);
    assertSameFiles(fetch(upgraded, m2), second);
  }

  // ----- shared packs: chunks shared across workflows -----

  private Path sharedDir() {
    return tmp.resolve("store/shared");
  }

  private List<String> sharedFiles() throws IOException {
    if (!Files.isDirectory(sharedDir())) {
      return List.of();
    }
    try (var walk = Files.walk(sharedDir())) {
      return walk.filter(Files::isRegularFile).map(p -> sharedDir().relativize(p).toString()).sorted().toList();
    }
  }

  /** What the janitor does once a workflow finished and its retention passed. */
  private void collect(ImageManifest... images) throws IOException {
    String wf = images[0].workflowId();
    List<String> shared = images[images.length - 1].chunks().sharedPacks();
    assertThat(new SharedPacks(store).referredBy(wf)).containsExactlyInAnyOrderElementsOf(shared);
    new SharedPacks(store).release(wf, shared);
    for (ImageManifest m : images) {
      store.delete(m.key());
    }
    store.sweep(wf);
    new SharedPacks(store).sweep(shared, Duration.ofHours(1), w -> !store.seqs(w).isEmpty());
  }

  @Test
  void theFirstImagesOfLaterWorkflowsStoreOnlyWhatTheSeedLacksAndRestoreAfterTheSeedsWorkflowIsCollected()
      throws Exception {
    sharingAcrossWorkflows(Optional.empty());
  }

  @Test
  void encryptedSharedPacksAreSharedToo() throws Exception {
    sharingAcrossWorkflows(Optional.of(ImageKeyring.fromEnvironmentValue("TEST_KEYS", ImageKeyring.generate())));
  }

  private void sharingAcrossWorkflows(Optional<ImageKeyring> keys) throws Exception {
    ImageIo io = ioSharing(keys);
    byte[] pages = randomPages(PAGES);
    Path a1 = dump(pages, "core a");
    ImageManifest ma1 = commit(io, "wf-a", 1, a1);
    List<String> seed = ma1.chunks().sharedPacks();
    assertThat(seed).as("the first image of a program is written into a shared pack").hasSize(1);
    String pack = seed.get(0);
    long packBytes = Files.size(sharedDir().resolve(SharedPacks.packName(pack)));
    assertThat(packBytes).as("the seed's frames").isGreaterThan((long) PAGES * ChunkIndex.CHUNK / 2);
    assertThat(sharedFiles()).containsExactly(pack + ".pack", pack + ".refs/wf-a", "wf.wf-a/" + pack);

    Path b1 = dump(changed(pages, 32), "core b");
    ImageManifest mb1 = commit(io, "wf-b", 1, b1);
    assertThat(mb1.chunks().sharedPacks()).as("a later workflow's first image reads the seed").containsExactly(pack);
    assertThat(mb1.packedBytes()).as("8 of 256 pages differ from the seed's").isLessThan(packBytes / 5);
    assertThat(sharedFiles()).containsExactly(pack + ".pack", pack + ".refs/wf-a", pack + ".refs/wf-b",
        "wf.wf-a/" + pack, "wf.wf-b/" + pack);
    if (keys.isPresent()) {
      assertThat(mb1.mac()).isNotNull();
      assertThatThrownBy(() -> ioSharing(Optional.empty()).fetch(mb1, tmp.resolve("no-key")))
          .isInstanceOf(IOException.class).hasMessageContaining(keys.get().currentKeyId());
    }

    // wf-b's next image grows from its first, and keeps reading the seed's frames it needs.
    Path b2 = dump(changed(Files.readAllBytes(b1.resolve("pages-1.img")), 40), "core b2");
    ImageManifest mb2 = commit(io, "wf-b", 2, b2);
    assertThat(mb2.chunks().sharedPacks()).containsExactly(pack);
    assertThat(mb2.packedBytes()).isLessThan(packBytes / 5);

    collect(ma1); // wf-a, which wrote the seed, finished
    assertThat(sharedFiles()).as("wf-b still reads the pack")
        .containsExactly(pack + ".pack", pack + ".refs/wf-b", "wf.wf-b/" + pack);
    assertThat(store.workflowIds()).doesNotContain("wf-a");
    store.delete(mb1.key());
    assertSameFiles(fetch(ioSharing(keys), mb2), b2);

    collect(mb2);
    assertThat(sharedFiles()).as("no workflow refers to the pack any more").isEmpty();
    assertThat(store.workflowIds()).isEmpty();
  }

  @Test
  void aPackACollectorIsDeletingIsNotReferredToAndANewSeedIsWritten() throws Exception {
    ImageIo io = ioSharing(Optional.empty());
    byte[] pages = randomPages(PAGES);
    ImageManifest ma1 = commit(io, "wf-a", 1, dump(pages, "a"));
    String pack = ma1.chunks().sharedPacks().get(0);
    store.putShared(pack + ".condemned", new byte[0]); // a collector found no reference and is deleting it

    Path b1 = dump(changed(pages, 32), "b");
    ImageManifest mb1 = commit(io, "wf-b", 1, b1);
    assertThat(mb1.chunks().sharedPacks()).as("wf-b does not read a condemned pack").doesNotContain(pack).hasSize(1);
    assertThat(sharedFiles()).as("wf-b's reference to the condemned pack was taken back")
        .doesNotContain(pack + ".refs/wf-b", "wf.wf-b/" + pack).contains(pack + ".refs/wf-a");
    assertSameFiles(fetch(ioSharing(Optional.empty()), mb1), b1);
  }

  @Test
  void aDamagedFrameOfASharedPackIsRefusedNamingThePackAndRestoresOnceTheBytesAreBack() throws Exception {
    ImageIo io = ioSharing(Optional.empty());
    byte[] pages = randomPages(PAGES);
    ImageManifest ma1 = commit(io, "wf-a", 1, dump(pages, "a"));
    Path b1 = dump(changed(pages, 32), "b");
    ImageManifest mb1 = commit(io, "wf-b", 1, b1);
    String pack = mb1.chunks().sharedPacks().get(0);
    Path file = sharedDir().resolve(SharedPacks.packName(pack));
    byte[] intact = Files.readAllBytes(file);
    byte[] damaged = intact.clone();
    damaged[100] ^= 1;
    Files.write(file, damaged);
    assertThatThrownBy(() -> io.fetch(mb1, tmp.resolve("damaged")))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("wf-b#1")
        .hasMessageContaining("shared pack " + pack)
        .hasMessageContaining("frame ");
    assertThat(tmp.resolve("damaged")).doesNotExist();
    Files.delete(file);
    assertThatThrownBy(() -> io.fetch(mb1, tmp.resolve("missing")))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("shared pack " + pack)
        .hasMessageContaining("missing");
    Files.write(file, intact);
    assertSameFiles(fetch(io, mb1), b1);
    assertThat(ma1.chunks().sharedPacks()).containsExactly(pack);
  }

  @Test
  void aCollectorDropsOnlyOldReferencesOfWorkflowsWithoutImages() throws Exception {
    ImageIo io = ioSharing(Optional.empty());
    byte[] pages = randomPages(PAGES);
    ImageManifest ma1 = commit(io, "wf-a", 1, dump(pages, "a"));
    String pack = ma1.chunks().sharedPacks().get(0);
    store.putShared(pack + ".refs/crashed-commit", new byte[0]); // a commit that referred, then died

    SharedPacks packs = new SharedPacks(store);
    SharedPacks.Swept young = packs.sweep(null, Duration.ofHours(1), w -> !store.seqs(w).isEmpty());
    assertThat(young.staleReferencesDropped()).as("a young reference may be a commit in flight").isZero();
    assertThat(sharedFiles()).contains(pack + ".refs/crashed-commit", pack + ".pack");

    SharedPacks.Swept old = packs.sweep(null, Duration.ZERO, w -> !store.seqs(w).isEmpty());
    assertThat(old.staleReferencesDropped()).isEqualTo(1);
    assertThat(old.packsKept()).as("wf-a has an image").isEqualTo(1);
    assertThat(sharedFiles()).containsExactly(pack + ".pack", pack + ".refs/wf-a", "wf.wf-a/" + pack);
    assertSameFiles(fetch(io, ma1), tmp.resolve("dump-1"));
  }

  @Test
  void firstImagesCommittedTogetherWaitForOneSeedAndShareIt() throws Exception {
    ImageIo io = ioSharing(Optional.empty());
    byte[] pages = randomPages(PAGES);
    List<Path> dumps = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      dumps.add(dump(changed(pages, 32 + i), "core " + i));
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(6);
    try {
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      List<java.util.concurrent.Future<ImageManifest>> commits = new java.util.ArrayList<>();
      for (int i = 0; i < 6; i++) {
        int n = i;
        commits.add(pool.submit(() -> {
          go.await();
          return commit(io, "together-" + n, 1, dumps.get(n));
        }));
      }
      go.countDown();
      List<ImageManifest> ms = new java.util.ArrayList<>();
      for (var c : commits) {
        ms.add(c.get());
      }
      assertThat(ms.stream().flatMap(m -> m.chunks().sharedPacks().stream()).distinct().toList())
          .as("one seed for all six").hasSize(1);
      assertThat(sharedFiles().stream().filter(f -> f.endsWith(".pack")).toList()).hasSize(1);
      assertThat(ms.stream().filter(m -> m.chunks().indexOffset() > 0).count())
          .as("five store only what the seed lacks").isEqualTo(5);
      for (int i = 0; i < 6; i++) {
        assertSameFiles(fetch(ioSharing(Optional.empty()), ms.get(i)), dumps.get(i));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void withAddressLayoutRandomizationFirstImagesShareNothingAcrossWorkflows() throws Exception {
    ImageIo io = ioSharing(Optional.empty());
    byte[] pages = randomPages(PAGES);
    ImageManifest a = commit(io, "random-a", 1, dump(pages, "a"), false);
    ImageManifest b = commit(io, "random-b", 1, dump(changed(pages, 32), "b"), false);
    assertThat(a.chunks().sharedPacks()).isEmpty();
    assertThat(b.chunks().sharedPacks()).isEmpty();
    assertThat(b.chunks().indexOffset()).as("its own frames").isPositive();
    assertThat(sharedFiles()).isEmpty();
  }
}
