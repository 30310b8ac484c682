package dev.torpor.launcher.internal;

import dev.torpor.internal.protocol.Suspend;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.ImageUpload;
import dev.torpor.storage.SharedPacks;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.ImageKeyring;
import dev.torpor.storage.crypto.ManifestAuth;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The worker's side of the image store. Committing: write the image as chunks, sharing those
 * of the workflow's previous image ({@link ChunkedImages}; or, with {@code --image-format 1},
 * pack it whole: tar, zstd), encrypt and sign when there are keys, upload, write the manifest
 * last, and retry while the store refuses. Fetching: trust the manifest (it names the image
 * asked for and, with keys, carries a valid MAC), check that this machine can restore it, then
 * download, decrypt, verify and unpack it, in whichever format it was written.
 */
final class ImageIo {
  /** The most the cipher warm-up encrypts and decrypts; JDK 17's cold phase is about 300 MiB. */
  private static final int WARM_UP_MIB = 1024;
  /** How many indexes of recent images are kept in memory (about 1 MB each); others are read again. */
  private static final int BASES = 16;

  /** How many programs' seeds are kept in memory. */
  private static final int SEEDS = 8;
  /** The largest dump written into a shared pack, which is built in memory. */
  private static final long MAX_SEED_BYTES = 256L << 20;
  /** How long a first image waits for the seed of its program being committed. */
  private static final Duration SEED_WAIT = Duration.ofSeconds(10);

  private record Base(long seq, ChunkIndex index) {}

  /**
   * The first image of a program written here, whose frames are in shared pack {@code packId}:
   * the first images of later workflows of the program store only the chunks it lacks.
   */
  private record Seed(String packId, ChunkIndex index) {}

  private final ImageStore store;
  private final ImagePacker packer;
  private final ChunkedImages chunked;
  private final int format;
  /** The indexes of the images last committed or fetched here, the bases of the next commits. */
  private final Map<String, Base> bases = new LinkedHashMap<>(16, 0.75f, true) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Base> eldest) {
      return size() > BASES;
    }
  };
  /** Seeds by program (JDK, class path, ASLR); see {@link #template}. */
  private final Map<String, Seed> seeds = new LinkedHashMap<>(8, 0.75f, true) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Seed> eldest) {
      return size() > SEEDS;
    }
  };
  /** Seeds being committed, by program: guarded by {@link #seeds}. */
  private final Map<String, CompletableFuture<Seed>> pendingSeeds = new HashMap<>();
  private final SharedPacks sharedPacks;
  private final boolean acrossWorkflows;
  private final Optional<ImageCipher> cipher;
  private final Optional<ManifestAuth> auth;
  private final Duration commitRetry;
  private final CheckpointEngine engine;
  private final List<String> cpuFlags = SystemFacts.cpuFlags();
  private final Path javaHome;

  /**
   * @param format the format new images are written in: {@link ImageManifest#FORMAT_CHUNKED}, or
   *     {@link ImageManifest#FORMAT_TAR} for a cluster whose other workers cannot read chunked images yet
   * @param javaHome the JDK this worker runs workflows on: the only one whose images it restores
   */
  ImageIo(ImageStore store, Optional<ImageKeyring> keys, Duration commitRetry, CheckpointEngine engine, Path javaHome,
      int format) {
    this(store, keys, commitRetry, engine, javaHome, format, true);
  }

  /**
   * @param acrossWorkflows whether the first images of workflows share chunks through shared packs
   *     (else only the images of one workflow share chunks)
   */
  ImageIo(ImageStore store, Optional<ImageKeyring> keys, Duration commitRetry, CheckpointEngine engine, Path javaHome,
      int format, boolean acrossWorkflows) {
    this.acrossWorkflows = acrossWorkflows;
    if (format != ImageManifest.FORMAT_TAR && format != ImageManifest.FORMAT_CHUNKED) {
      throw new IllegalArgumentException("image format " + format + " is neither " + ImageManifest.FORMAT_TAR
          + " (tar) nor " + ImageManifest.FORMAT_CHUNKED + " (chunked)");
    }
    this.format = format;
    this.javaHome = javaHome;
    this.store = store;
    this.cipher = keys.map(ImageCipher::new);
    this.packer = new ImagePacker(1, cipher);
    this.chunked = new ChunkedImages(store, cipher, 1);
    this.sharedPacks = new SharedPacks(store);
    this.auth = keys.map(ManifestAuth::new);
    this.commitRetry = commitRetry;
    this.engine = engine;
  }

  /**
   * What an image's manifest records besides the image itself.
   *
   * @param key the image
   * @param request what the workflow asked to wait for
   * @param jdk the dumped JVM's JDK (vendor, version, home)
   * @param outputPipe the JVM's stdout pipe, which a restore replaces
   * @param plan what the JVM sees of the host: its run directory (which a restore needs at the same
   *     path) and its class path, bound again at a restore
   * @param addrNoRandomize whether the JVM ran with the ADDR_NO_RANDOMIZE personality ({@code
   *     --no-aslr}): CRIU 4.2 records but does not restore a personality, so the restore sets it
   */
  record Facts(ImageKey key, Suspend request, Map<String, String> jdk, String outputPipe, SandboxPlan plan,
      boolean addrNoRandomize) {}

  /** The manifest's restore fact of a JVM dumped with the ADDR_NO_RANDOMIZE personality, which CRIU does not restore. */
  static final String ADDR_NO_RANDOMIZE_FACT = "addrNoRandomize";

  String describe() {
    return store.describe();
  }

  Duration commitRetry() {
    return commitRetry;
  }

  /**
   * Compiles the image cipher, if any, before the first images need it (a cold JDK 17 AES-GCM
   * adds about 80 ms to each suspend and resume of a 5 MB image), on a background thread.
   */
  void warmUpInBackground() {
    cipher.ifPresent(c -> {
      Thread t = new Thread(() -> {
        try {
          System.err.println("torpor worker: image cipher warmed up in " + c.warmUp(WARM_UP_MIB).toMillis() + " ms");
        } catch (IOException | RuntimeException e) {
          System.err.println("torpor worker: image cipher warm-up failed (images are still encrypted): " + e);
        }
      }, "torpor-cipher-warm-up");
      t.setDaemon(true);
      t.setPriority(Thread.MIN_PRIORITY);
      t.start();
    });
  }

  /**
   * Commits the dump in {@code dumpDir} as image {@code facts.key()}, retrying with backoff while
   * the store refuses it, for up to the commit retry window: the dump directory is the
   * workflow's only copy meanwhile. Adds {@code packUpload} and {@code commit} to {@code timings}.
   *
   * @param mayReplace asked when an image with the same key is already in the store: whether this
   *     worker still holds the workflow's running segment, so that the image there is debris of an
   *     earlier run of the same segment (it crashed after its commit, before the registry heard of
   *     it) and not the image of the worker that took the workflow over
   * @throws ImageTakenException when the key is taken and {@code mayReplace} says no; nothing was changed
   */
  ImageManifest commit(Facts facts, Path dumpDir, Map<String, Double> timings, long t0, BooleanSupplier mayReplace)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + commitRetry.toNanos();
    long backoffMillis = 250;
    for (int attempt = 1; ; attempt++) {
      try {
        ImageManifest m = commitOnce(facts, dumpDir, timings, t0, mayReplace);
        if (attempt > 1) {
          System.err.println("torpor worker: image " + facts.key() + " committed at attempt " + attempt);
        }
        return m;
      } catch (ImageTakenException e) {
        throw e;
      } catch (IOException e) {
        if (System.nanoTime() + backoffMillis * 1_000_000 > deadline) {
          throw e;
        }
        System.err.println("torpor worker: image commit attempt " + attempt + " of " + facts.key() + " to "
            + store.describe() + " failed (" + e.getMessage() + "); retrying in " + backoffMillis + " ms");
        Thread.sleep(backoffMillis);
        backoffMillis = Math.min(backoffMillis * 2, 5_000);
      }
    }
  }

  private ImageManifest commitOnce(Facts facts, Path dumpDir, Map<String, Double> timings, long t0,
      BooleanSupplier mayReplace) throws IOException {
    ImageKey key = facts.key();
    ChunkIndex base = null;
    List<String> shared = new ArrayList<>();
    ChunkedImages.NewPack intoPack = null;
    String template = null;
    CompletableFuture<Seed> seeding = null; // this commit's claim to write its program's seed
    try {
      if (format == ImageManifest.FORMAT_CHUNKED) {
        base = baseOf(key);
        if (base != null) {
          shared.addAll(base.shared); // the packs its frames may be in
        }
        // Only JVMs laid out alike (--no-aslr) have pages alike: measured with a small workflow, a
        // first image shares 35% of its chunks with the seed's without ASLR, 4-10% with it.
        if (key.seq() == 1 && acrossWorkflows && facts.addrNoRandomize()) {
          template = template(facts);
          SeedChoice choice = chooseSeed(template);
          seeding = choice.claim();
          Seed seed = choice.seed();
          if (seed != null && sharedPacks.reference(seed.packId(), key.workflowId())) {
            base = seed.index();
            shared.add(seed.packId());
          } else {
            if (seed != null) {
              forgetSeed(template, seed);
            }
            if (sizeOf(dumpDir) <= MAX_SEED_BYTES) {
              intoPack = new ChunkedImages.NewPack(SharedPacks.newId());
              shared.add(intoPack.id());
            }
          }
        }
      }
      ImageUpload begun = begin(key, mayReplace);
      return commitOnce(facts, key, begun, dumpDir, timings, t0, base, shared, intoPack, template, seeding);
    } finally {
      if (seeding != null) {
        seeding.complete(null); // no-op when committed
        synchronized (seeds) {
          pendingSeeds.remove(template, seeding);
        }
      }
    }
  }

  /** Begins the upload of image {@code key}, replacing an orphaned image of that key if {@code mayReplace} says so. */
  private ImageUpload begin(ImageKey key, BooleanSupplier mayReplace) throws IOException {
    try {
      return store.begin(key);
    } catch (FileAlreadyExistsException e) {
      if (!mayReplace.getAsBoolean()) {
        // Another worker holds the workflow now and may have committed this very key: its image stays.
        throw new ImageTakenException("image " + key + " is already in " + store.describe() + " and this worker no"
            + " longer holds the workflow's lease: the image there is the new owner's and is left alone");
      }
      // Left by a segment that crashed after its commit but before anyone learned of it.
      System.err.println("torpor worker: replacing the orphaned image " + key + " of an earlier attempt");
      store.delete(key);
      return store.begin(key);
    }
  }

  private ImageManifest commitOnce(Facts facts, ImageKey key, ImageUpload begun, Path dumpDir,
      Map<String, Double> timings, long t0, ChunkIndex base, List<String> shared, ChunkedImages.NewPack intoPack,
      String template, CompletableFuture<Seed> seeding) throws IOException {
    try (ImageUpload upload = begun) {
      Suspend s = facts.request();
      Map<String, String> wait = new LinkedHashMap<>();
      wait.put("kind", s.kind().name());
      s.wakeAt().ifPresent(w -> wait.put("wakeAt", w.toString()));
      s.signal().ifPresent(n -> wait.put("signal", n));
      ImageManifest m;
      ChunkIndex index = null;
      if (format == ImageManifest.FORMAT_CHUNKED) {
        ChunkedImages.Written w = chunked.write(key, dumpDir, upload.data(), base, shared, intoPack);
        index = w.index();
        if (intoPack != null) {
          // Durable before the manifest that makes the image read it; referred to by this workflow first.
          sharedPacks.create(intoPack.id(), intoPack.frames().toByteArray(), key.workflowId());
        }
        timings.put("packUpload", millisSince(t0));
        m = new ImageManifest(ImageManifest.FORMAT_CHUNKED, key.workflowId(), key.seq(), Instant.now().toString(),
            w.indexSha256(), index.rawBytes(), w.storedBytes(), "chunks+zstd", engine.describe(), facts.jdk(),
            cpuFlags, wait, restoreFacts(facts), timings, w.encryption(), null,
            new ImageManifest.Chunks(w.indexOffset(), packsOf(index, key), index.shared.isEmpty() ? null : index.shared));
      } else {
        ImagePacker.Packed packed = packer.pack(key, dumpDir, upload.data());
        timings.put("packUpload", millisSince(t0));
        m = new ImageManifest(ImageManifest.FORMAT_TAR, key.workflowId(), key.seq(), Instant.now().toString(),
            packed.sha256(), packed.rawBytes(), packed.packedBytes(), "tar+zstd", engine.describe(), facts.jdk(),
            cpuFlags, wait, restoreFacts(facts), timings, packed.encryption(), null, null);
      }
      if (auth.isPresent()) {
        m = auth.get().sign(m);
      }
      CrashPoint.reach(CrashPoint.IMAGE_UPLOADED);
      long t1 = System.nanoTime();
      upload.commit(m);
      timings.put("commit", millisSince(t1));
      if (index != null) {
        remember(key, index);
      }
      if (intoPack != null) {
        Seed seed = new Seed(intoPack.id(), index);
        synchronized (seeds) {
          seeds.put(template, seed);
        }
        if (seeding != null) {
          seeding.complete(seed);
        }
      }
      return m;
    }
  }

  /** The data objects an image's frames are in, its own last even when it wrote no new frame. */
  private static List<Long> packsOf(ChunkIndex index, ImageKey key) {
    java.util.TreeSet<Long> packs = new java.util.TreeSet<>(index.packs());
    packs.add(key.seq());
    return List.copyOf(packs);
  }

  /**
   * The index of the workflow's image before {@code key}, which the new image may share frames
   * with, if this worker committed or restored it lately, else null: that image is the registry's
   * newest until the new one is recorded, so the collector keeps every data object it reads (see
   * {@link ImageStore#delete}). A missing base only costs sharing.
   */
  private ChunkIndex baseOf(ImageKey key) {
    if (key.seq() == 1) {
      return null;
    }
    Base b;
    synchronized (bases) {
      b = bases.get(key.workflowId());
    }
    if (b != null && b.seq() == key.seq() - 1) {
      return b.index();
    }
    // The chunks' hashes are not stored (they would be most of the index): without them the image is written whole.
    System.err.println("torpor worker: image " + key + " shares no chunks with image " + (key.seq() - 1)
        + ", whose index is not in this worker's memory (it was neither committed nor restored here lately)");
    return null;
  }

  /**
   * What makes the pages of two workflows' JVMs alike: the same JDK, class path and address
   * layout; their first images share the chunks of the first such image written here.
   */
  private static String template(Facts facts) {
    return facts.plan().javaHome() + "\n" + facts.plan().classPathFact() + "\n" + facts.addrNoRandomize();
  }

  /** A seed to share, or a claim to write one (which others then wait for), or neither. */
  private record SeedChoice(Seed seed, CompletableFuture<Seed> claim) {}

  /**
   * The seed of {@code template}; if none is known but one is being committed (the first
   * workflows of a program on a fresh worker suspend together), waits for it up to {@link
   * #SEED_WAIT}, so that they share it rather than each writing a whole image; if none is being
   * committed either, the claim to commit it.
   */
  private SeedChoice chooseSeed(String template) throws IOException {
    for (int attempt = 0; attempt < 2; attempt++) {
      CompletableFuture<Seed> pending;
      synchronized (seeds) {
        Seed seed = seeds.get(template);
        if (seed != null) {
          return new SeedChoice(seed, null);
        }
        pending = seeding(template);
        if (pending == null) {
          CompletableFuture<Seed> claim = new CompletableFuture<>();
          pendingSeeds.put(template, claim);
          return new SeedChoice(null, claim);
        }
      }
      try {
        Seed seed = pending.get(SEED_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (seed != null) {
          return new SeedChoice(seed, null);
        }
      } catch (TimeoutException | ExecutionException e) {
        return new SeedChoice(null, null);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for the seed of a program");
      }
    }
    return new SeedChoice(null, null);
  }

  private CompletableFuture<Seed> seeding(String template) {
    CompletableFuture<Seed> f = pendingSeeds.get(template);
    return f == null || f.isDone() ? null : f;
  }

  private void forgetSeed(String template, Seed seed) {
    synchronized (seeds) {
      seeds.remove(template, seed);
    }
  }

  private static long sizeOf(Path dir) throws IOException {
    long total = 0;
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        total += java.nio.file.Files.size(p);
      }
    }
    return total;
  }

  private void remember(ImageKey key, ChunkIndex index) {
    synchronized (bases) {
      bases.put(key.workflowId(), new Base(key.seq(), index));
    }
  }

  /** The workflow ended here: its index is no base any more. */
  void forget(String workflowId) {
    synchronized (bases) {
      bases.remove(workflowId);
    }
  }

  private static Map<String, String> restoreFacts(Facts facts) {
    Map<String, String> restore = new LinkedHashMap<>();
    restore.put("outputPipe", facts.outputPipe());
    restore.put("runDir", facts.plan().runDir().toString());
    restore.put(SandboxPlan.CLASS_PATH_FACT, facts.plan().classPathFact());
    if (facts.addrNoRandomize()) {
      restore.put(ADDR_NO_RANDOMIZE_FACT, "true");
    }
    return restore;
  }

  /** The trusted manifest of image {@code key}, if committed. */
  Optional<ImageManifest> manifest(ImageKey key) throws IOException {
    Optional<ImageManifest> m = store.manifest(key);
    return m.isPresent() ? Optional.of(trusted(m.get(), key)) : Optional.empty();
  }

  /** The trusted manifest of the workflow's newest image, if any. */
  Optional<ImageManifest> latest(String workflowId) throws IOException {
    Optional<ImageManifest> m = store.latest(workflowId);
    return m.isPresent() ? Optional.of(trusted(m.get(), m.get().key())) : Optional.empty();
  }

  /**
   * The manifest, once, with keys configured, it is known to be signed by one of them for
   * {@code key} (so a swapped or forged manifest cannot point a restore elsewhere). Without keys
   * the store has already refused a manifest that describes another image.
   */
  private ImageManifest trusted(ImageManifest m, ImageKey key) throws IOException {
    if (auth.isPresent()) {
      auth.get().verify(m, key);
    }
    return m;
  }

  /**
   * Fetches the image {@code m} describes into the empty directory {@code dir}: declines it if this
   * machine cannot restore it, and leaves nothing behind unless every byte verified.
   */
  void fetch(ImageManifest m, Path dir) throws IOException {
    Optional<String> incompatible = ImageCompatibility.problem(m, cpuFlags, javaHome);
    if (incompatible.isPresent()) {
      throw new ImageDeclinedException("declined image " + m.key() + ": " + incompatible.get());
    }
    if (m.chunked()) {
      remember(m.key(), chunked.read(m, dir));
      return;
    }
    try (InputStream in = store.openData(m.key())) {
      packer.unpack(m.key(), in, dir, m.sha256(), m.encryption());
    }
  }

  private static double millisSince(long t0) {
    return (System.nanoTime() - t0) / 1e6;
  }

  /** An image key already taken in the store by a commit this worker may not replace. */
  static final class ImageTakenException extends IOException {
    private static final long serialVersionUID = 1L;

    ImageTakenException(String message) {
      super(message);
    }
  }
}
