package dev.torpor.bench;

import static dev.torpor.bench.SnapshotBenchmark.ms;

import dev.torpor.bench.SnapshotBenchmark.Table;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.ImageUpload;
import dev.torpor.storage.crypto.ImageCipher;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * How fast a store takes image data and gives it back (issue #4): a large image is written
 * through {@link ImageStore#begin} ({@code data()}, then {@code commit}) and read back through
 * {@link ImageStore#openData}, in the clear and through {@link ImageCipher}, on each store, and
 * on no store at all (the cipher alone, in memory) to show what the encryption costs by itself.
 *
 * <p>The data are pseudo-random bytes: incompressible, as a packed image (zstd output, or its
 * ciphertext) is, so no layer can shrink them. It is written in 128 KiB writes, as the packer's
 * zstd stream hands data on, and read back into one array; only the store and the cipher are
 * timed: no tar, no zstd, no SHA-256 (the latency part has those). Each read is compared with
 * what was written, untimed, and the image deleted.
 *
 * <p>Every transfer is repeated {@link #REPEATS} times; the first is reported apart, because it
 * runs with cold connections, caches and JIT for its path; the figures are the median of the
 * others. The cipher is warmed up beforehand ({@link CipherWarmUp}): before the JIT compiles it,
 * JDK 17's AES-GCM runs at tens of MB/s, and that is reported there.
 */
final class StoreThroughput {
  /** The image sizes, MiB: multipart uploads on S3 (8 and 32 parts), the larger long enough to be steady. */
  static final int[] SIZES_MIB = {64, 256};
  static final int REPEATS = 8;
  /** Commits and manifest reads of a small image, for the fixed cost of a request. */
  static final int SMALL_REPEATS = 20;

  private static final int CHUNK = 128 * 1024;
  private static final int SMALL_BYTES = 4096;
  private static final String MEMORY = "memory: ImageCipher alone, no store";

  /**
   * A store under test, named {@code label}, in the clear or through {@code cipher}; or no store
   * ({@code store} empty), the cipher alone.
   */
  record Target(String label, Optional<ImageStore> store, Optional<ImageCipher> cipher) {}

  /** The timings of one target at one size, MB/s (10^6 bytes per second), in run order. */
  record Result(Target target, int mib, List<Double> upload, List<Double> download) {}

  /** Fixed per-image costs of a store, ms, in run order. */
  record Small(Target target, List<Double> commit, List<Double> manifest) {}

  /** The cipher alone, in memory: what encryption costs without a store. */
  static Target cipherAlone(ImageCipher cipher) {
    return new Target(MEMORY, Optional.empty(), Optional.of(cipher));
  }

  private final byte[] source;
  private final byte[] back;
  private final Map<Integer, String> shas = new HashMap<>();
  private final List<String> problems;
  private int seq;

  StoreThroughput(List<String> problems) {
    int max = Arrays.stream(SIZES_MIB).max().orElseThrow() << 20;
    this.source = new byte[max];
    new SplittableRandom(4).nextBytes(source);
    this.back = new byte[max];
    this.problems = problems;
  }

  /**
   * Measures every target at every size, then the small requests of the targets with a store
   * (in the clear), and returns the report.
   */
  String run(List<Target> targets) throws IOException {
    List<Result> results = new ArrayList<>();
    for (int mib : SIZES_MIB) {
      List<Result> atSize = new ArrayList<>();
      targets.forEach(t -> atSize.add(new Result(t, mib, new ArrayList<>(), new ArrayList<>())));
      // Repeat by repeat across the targets, so that a store or server still warming up, or a
      // slow spell of the machine, weighs on each alike.
      for (int r = 1; r <= REPEATS; r++) {
        for (Result result : atSize) {
          transfer(result, r);
        }
      }
      results.addAll(atSize);
    }
    List<Small> small = new ArrayList<>();
    for (Target t : targets) {
      if (t.store().isPresent() && t.cipher().isEmpty()) {
        small.add(small(t));
      }
    }
    return report(results, small);
  }

  /** Writes and reads back one image of {@code into}'s target and size, and adds the timings to it. */
  private void transfer(Result into, int r) throws IOException {
    Target t = into.target();
    int size = into.mib() << 20;
    ImageKey key = new ImageKey("throughput-" + into.mib() + "mib", ++seq);
    long t0 = System.nanoTime();
    InputStream sealed = null;
    if (t.store().isPresent()) {
      upload(t, key, size);
    } else {
      sealed = sealInMemory(t.cipher().orElseThrow(), key, size);
    }
    long t1 = System.nanoTime();
    int n;
    try (InputStream stored = t.store().isPresent() ? t.store().get().openData(key) : sealed;
        InputStream in = t.cipher().isPresent() ? t.cipher().get().decrypt(stored, key, t.cipher().get().encryption())
            : stored) {
      n = in.readNBytes(back, 0, size);
      if (n == size && in.read() != -1) {
        n = -1;
      }
    }
    long t2 = System.nanoTime();
    into.upload().add(size / ((t1 - t0) / 1e9) / 1e6);
    into.download().add(size / ((t2 - t1) / 1e9) / 1e6);
    if (n != size || !Arrays.equals(back, 0, size, source, 0, size)) {
      problems.add("throughput, " + t.label() + ", " + into.mib() + " MiB, repeat " + r + ": the data read back is"
          + " not what was written (" + n + " of " + size + " bytes read)");
    }
    if (t.store().isPresent()) {
      t.store().get().delete(key);
    }
    log(String.format(Locale.ROOT, "throughput %s%s, %d MiB, %d/%d: upload %.0f MB/s, download %.0f MB/s", t.label(),
        t.cipher().isPresent() ? " encrypted" : "", into.mib(), r, REPEATS, into.upload().get(r - 1),
        into.download().get(r - 1)));
  }

  /** Writes {@code size} bytes of the source as image {@code key} and commits it. */
  private void upload(Target t, ImageKey key, int size) throws IOException {
    try (ImageUpload upload = t.store().orElseThrow().begin(key)) {
      Counting stored = new Counting(upload.data());
      try (OutputStream out = t.cipher().isPresent() ? t.cipher().get().encrypt(stored, key) : stored) {
        write(out, size);
      } // the cipher writes its last segment; the store's stream itself is closed by the commit
      upload.commit(manifest(key, size, stored.count, t.cipher()));
    }
  }

  /** Encrypts {@code size} bytes of the source into memory; returns a stream of the ciphertext. */
  private InputStream sealInMemory(ImageCipher cipher, ImageKey key, int size) throws IOException {
    byte[] out = new byte[size + (size >> 20) * 64 + 4096]; // room for the header and one tag per segment
    return new ByteArrayInputStream(out, 0, CipherWarmUp.seal(cipher, key, source, size, out));
  }


  private void write(OutputStream out, int size) throws IOException {
    for (int off = 0; off < size; off += CHUNK) {
      out.write(source, off, Math.min(CHUNK, size - off));
    }
  }

  /**
   * A manifest for benchmark data: its sha256 is of the plaintext bytes, computed beforehand,
   * since these images are only read back and compared, never restored or verified.
   */
  private ImageManifest manifest(ImageKey key, int size, long stored, Optional<ImageCipher> cipher) {
    return new ImageManifest(ImageManifest.FORMAT_TAR, key.workflowId(), key.seq(), Instant.now().toString(),
        sha256(size), size, stored, "none (benchmark data)", Map.of(), Map.of(), List.of(), Map.of(), Map.of(),
        Map.of(), cipher.map(ImageCipher::encryption).orElse(null), null, null);
  }

  private String sha256(int size) {
    return shas.computeIfAbsent(size, n -> {
      try {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(source, 0, n);
        return HexFormat.of().formatHex(sha.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("the JDK has no SHA-256", e);
      }
    });
  }

  /** Commits of a 4 KiB image (begin, write, commit) and reads of its manifest. */
  private Small small(Target t) throws IOException {
    ImageStore store = t.store().orElseThrow();
    List<Double> commit = new ArrayList<>();
    List<Double> manifest = new ArrayList<>();
    for (int r = 1; r <= SMALL_REPEATS; r++) {
      ImageKey key = new ImageKey("small", ++seq);
      long t0 = System.nanoTime();
      try (ImageUpload upload = store.begin(key)) {
        upload.data().write(source, 0, SMALL_BYTES);
        upload.commit(manifest(key, SMALL_BYTES, SMALL_BYTES, Optional.empty()));
      }
      long t1 = System.nanoTime();
      if (store.manifest(key).isEmpty()) {
        problems.add("throughput, " + t.label() + ": the manifest of the committed image " + key + " is missing");
      }
      long t2 = System.nanoTime();
      commit.add((t1 - t0) / 1e6);
      manifest.add((t2 - t1) / 1e6);
      store.delete(key);
    }
    return new Small(t, commit, manifest);
  }

  // ----- report -----

  private String report(List<Result> results, List<Small> small) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "Transfers: %s MiB of pseudo-random (incompressible) bytes per image, written in 128 KiB writes through"
            + " `begin(key).data()` and `commit`, read back through `openData`; the encrypted rows go through"
            + " `ImageCipher` (AES-256-GCM, 1 MiB segments) on the way. Store and cipher only: no tar, zstd or"
            + " SHA-256. MB/s = 10^6 bytes of image (plaintext) per second. Each transfer %d times: the median of"
            + " the last %d, with their range, and the first apart (cold connections, caches and JIT for its path;"
            + " the cipher itself was warmed up before). The rows take turns, repeat by repeat.%n%n",
        String.join(" and ", Arrays.stream(SIZES_MIB).mapToObj(Integer::toString).toList()), REPEATS, REPEATS - 1));
    Table t = new Table("store", "data", "MiB", "upload MB/s", "download MB/s", "first upload", "first download");
    for (Result r : results) {
      t.row(r.target().label(), r.target().cipher().isPresent() ? "encrypted" : "plain", Integer.toString(r.mib()),
          warm(r.upload()), warm(r.download()), rate(r.upload().get(0)), rate(r.download().get(0)));
    }
    out.append(t).append('\n');

    List<String> overheads = new ArrayList<>();
    for (Result enc : results) {
      if (enc.target().cipher().isEmpty()) {
        continue;
      }
      results.stream()
          .filter(p -> p.mib() == enc.mib() && p.target().cipher().isEmpty() && p.target().label().equals(enc.target().label()))
          .findFirst()
          .ifPresent(plain -> overheads.add(String.format(Locale.ROOT,
              "- %s, %d MiB: encrypted upload %s of plain, download %s of plain", plain.target().label(), enc.mib(),
              SnapshotBenchmark.pct(median(enc.upload()) / median(plain.upload())),
              SnapshotBenchmark.pct(median(enc.download()) / median(plain.download())))));
    }
    if (!overheads.isEmpty()) {
      out.append("Encrypted throughput as a share of plain (warm medians):\n\n");
      overheads.forEach(o -> out.append(o).append('\n'));
      out.append('\n');
    }

    if (!small.isEmpty()) {
      out.append(String.format(Locale.ROOT,
          "Fixed cost per image (a 4 KiB image, %d times; median and p95, ms): the commit is `begin`, the write and"
              + " `commit` (on S3: a manifest lookup, PutObject of the data, PutObject of the manifest with"
              + " If-None-Match); the manifest read is what a restore does before it fetches the data.%n%n",
          SMALL_REPEATS));
      Table s = new Table("store", "commit, median", "commit, p95", "manifest read, median", "manifest read, p95");
      for (Small x : small) {
        Stats c = Stats.of(x.commit());
        Stats m = Stats.of(x.manifest());
        s.row(x.target().label(), ms(c.median()), ms(c.p95()), ms(m.median()), ms(m.p95()));
      }
      out.append(s).append('\n');
    }
    return out.toString();
  }

  /** The median of every repeat but the first. */
  private static double median(List<Double> all) {
    return Stats.of(all.subList(1, all.size())).median();
  }

  private static String warm(List<Double> all) {
    Stats s = Stats.of(all.subList(1, all.size()));
    return rate(s.median()) + " (" + rate(s.min()) + "–" + rate(s.max()) + ")";
  }

  private static String rate(double v) {
    return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f", v);
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }

  /** Counts what passes on to the store's stream, and never closes it: the store's commit does. */
  private static final class Counting extends java.io.FilterOutputStream {
    long count;

    Counting(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }

}
