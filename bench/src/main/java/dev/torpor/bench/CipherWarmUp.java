package dev.torpor.bench;

import dev.torpor.storage.ImageKey;
import dev.torpor.storage.crypto.ImageCipher;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Brings the image cipher to its steady state before anything encrypted is measured, and says
 * what it cost. JDK 17's AES-GCM runs in the interpreter at tens of MB/s until the JIT compiles
 * the callers of its AES and GHASH intrinsics, which, with the cipher's 1 MiB segments, takes
 * hundreds of MiB; after that it runs at GB/s. A worker that has just started is in the first
 * state, a busy one in the second. The benchmark's encrypted figures are of the second; this
 * measures the first: it encrypts and decrypts {@value #PASS_MIB} MiB in memory, pass after
 * pass, until both run at least {@value #SPEED_UP} times as fast as the first pass (or the
 * first pass was already fast) for {@value #STEADY} passes in a row, or {@value #MAX_MIB} MiB
 * have gone through.
 */
final class CipherWarmUp {
  static final int PASS_MIB = 16;
  static final int SPEED_UP = 5;
  static final int STEADY = 3;
  static final int MAX_MIB = 4096;
  /** A first pass this fast (MB/s, both ways) has no cold phase to wait out. */
  static final double FAST_MBPS = 500;

  /**
   * @param encrypt MB/s of each pass, encrypting
   * @param decrypt MB/s of each pass, decrypting
   * @param seconds how long each pass took, both ways
   * @param warm whether the cipher reached its steady state
   */
  record Result(List<Double> encrypt, List<Double> decrypt, List<Double> seconds, boolean warm) {
    /** The passes before the steady run: the cipher was cold through these. */
    int coldPasses() {
      return warm ? encrypt.size() - STEADY : encrypt.size();
    }

    /** The median rate of the cold passes (the first {@link #coldPasses()}), MB/s. */
    double coldEncrypt() {
      return Stats.of(encrypt.subList(0, Math.max(1, coldPasses()))).median();
    }

    double coldDecrypt() {
      return Stats.of(decrypt.subList(0, Math.max(1, coldPasses()))).median();
    }

    /** The median rate of the steady passes, MB/s. */
    double warmEncrypt() {
      return Stats.of(encrypt.subList(encrypt.size() - STEADY, encrypt.size())).median();
    }

    double warmDecrypt() {
      return Stats.of(decrypt.subList(decrypt.size() - STEADY, decrypt.size())).median();
    }

    /** Seconds spent encrypting and decrypting before the cipher was warm. */
    double coldSeconds() {
      return seconds.subList(0, coldPasses()).stream().mapToDouble(Double::doubleValue).sum();
    }

    /**
     * What the warm-up saw, for the report; with the size of an encrypted image ({@code imageMb},
     * NaN if unknown), what a cold cipher adds to its suspend and resume.
     */
    String describe(double imageMb) {
      int coldMib = coldPasses() * PASS_MIB;
      if (!warm) {
        return String.format(Locale.ROOT,
            "The image cipher did not reach a steady speed within %d MiB: it encrypted at %.0f MB/s and decrypted at"
                + " %.0f MB/s (median of %d passes of %d MiB); the encrypted figures below are of that cipher.",
            coldMib, coldEncrypt(), coldDecrypt(), encrypt.size(), PASS_MIB);
      }
      if (coldPasses() == 0) {
        return String.format(Locale.ROOT,
            "Cipher warm-up: `ImageCipher` encrypted at %.0f MB/s and decrypted at %.0f MB/s from its first pass.",
            warmEncrypt(), warmDecrypt());
      }
      String perImage = Double.isNaN(imageMb) ? "" : String.format(Locale.ROOT,
          " In a worker that has not, a %.1f MB image takes about %.0f ms more to encrypt on suspend and %.0f ms more"
              + " to decrypt on resume.",
          imageMb, imageMb / coldEncrypt() * 1e3 - imageMb / warmEncrypt() * 1e3,
          imageMb / coldDecrypt() * 1e3 - imageMb / warmDecrypt() * 1e3);
      return String.format(Locale.ROOT,
          "Cipher warm-up, first thing in the benchmark's JVM: `ImageCipher` (JDK 17's AES-GCM under Tink) encrypted"
              + " at %.0f MB/s and decrypted at %.0f MB/s (medians) through the first %d MiB each way, %.1f s in all,"
              + " until the JIT compiled it; then at %.0f MB/s and %.0f MB/s. The encrypted figures here are all with"
              + " the compiled cipher, as in a worker that has already encrypted and decrypted that much.%s",
          coldEncrypt(), coldDecrypt(), coldMib, coldSeconds(), warmEncrypt(), warmDecrypt(), perImage);
    }
  }

  private CipherWarmUp() {}

  /** Runs passes through {@code cipher} until it is warm; see the class comment. */
  static Result run(ImageCipher cipher) throws IOException {
    byte[] plain = new byte[PASS_MIB << 20];
    new SplittableRandom(7).nextBytes(plain);
    byte[] sealed = new byte[plain.length + (PASS_MIB + 1) * 64 + 4096];
    byte[] back = new byte[plain.length];
    List<Double> enc = new ArrayList<>();
    List<Double> dec = new ArrayList<>();
    List<Double> seconds = new ArrayList<>();
    int steady = 0;
    for (int pass = 1; pass * PASS_MIB <= MAX_MIB && steady < STEADY; pass++) {
      ImageKey key = new ImageKey("cipher-warm-up", pass);
      long t0 = System.nanoTime();
      int n = seal(cipher, key, plain, plain.length, sealed);
      long t1 = System.nanoTime();
      try (InputStream in = cipher.decrypt(new ByteArrayInputStream(sealed, 0, n), key, cipher.encryption())) {
        if (in.readNBytes(back, 0, back.length) != back.length || in.read() != -1 || !Arrays.equals(back, plain)) {
          throw new IOException("the cipher warm-up read back other bytes than it encrypted (pass " + pass + ")");
        }
      }
      long t2 = System.nanoTime();
      enc.add(plain.length / ((t1 - t0) / 1e9) / 1e6);
      dec.add(plain.length / ((t2 - t1) / 1e9) / 1e6);
      seconds.add((t2 - t0) / 1e9);
      boolean fastFromStart = enc.get(0) >= FAST_MBPS && dec.get(0) >= FAST_MBPS;
      boolean fast = fastFromStart
          || enc.get(enc.size() - 1) >= SPEED_UP * enc.get(0) && dec.get(dec.size() - 1) >= SPEED_UP * dec.get(0);
      steady = fast ? steady + 1 : 0;
      System.err.printf(Locale.ROOT, "torpor-bench: cipher warm-up, pass %d (%d MiB): encrypt %.0f MB/s, decrypt %.0f MB/s%n",
          pass, pass * PASS_MIB, enc.get(enc.size() - 1), dec.get(dec.size() - 1));
    }
    return new Result(enc, dec, seconds, steady >= STEADY);
  }

  /** Encrypts the first {@code length} bytes of {@code plain} into {@code into}, 128 KiB at a time; returns the size. */
  static int seal(ImageCipher cipher, ImageKey key, byte[] plain, int length, byte[] into) throws IOException {
    int[] at = {0};
    OutputStream sink = new OutputStream() {
      @Override
      public void write(int b) {
        into[at[0]++] = (byte) b;
      }

      @Override
      public void write(byte[] b, int off, int len) {
        System.arraycopy(b, off, into, at[0], len);
        at[0] += len;
      }
    };
    try (OutputStream out = cipher.encrypt(sink, key)) {
      for (int off = 0; off < length; off += 128 * 1024) {
        out.write(plain, off, Math.min(128 * 1024, length - off));
      }
    }
    return at[0];
  }
}
