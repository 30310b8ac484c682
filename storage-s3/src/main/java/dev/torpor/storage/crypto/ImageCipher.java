package dev.torpor.storage.crypto;

import com.google.crypto.tink.subtle.AesGcmHkdfStreaming;
import dev.torpor.storage.ImageKey;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Encrypts packed images as they stream to the store and decrypts them as they stream back,
 * with Tink's streaming AEAD: each image gets its own AES-256 key, derived with HKDF-SHA256
 * from the image key and a random salt kept in the ciphertext's 40-byte header; the data is cut
 * into segments of 1 MiB of ciphertext, each sealed with AES-GCM (16-byte tag) under a nonce
 * that counts segments and marks the last one. Decrypting therefore fails, with an {@link
 * IOException}, when any byte was changed, when segments were reordered, dropped or added, and
 * when the data was cut short, even at a segment boundary. No plaintext of a segment is released
 * before its tag is checked.
 *
 * <p>The ciphertext is bound to its image: the associated data is {@code
 * "torpor-image-v1:<workflowId>#<seq>"}, so data moved to another workflow or seq does not
 * decrypt. A frame of a shared pack, which images of several workflows read, is bound to the
 * pack instead: {@code "torpor-shared-v1:<packId>"}.
 *
 * <p>What a manifest records of the encryption is {@link #encryption()}: the {@link #SCHEME} and
 * the id of the key used, never the key. Thread-safe: one instance serves every image.
 */
public final class ImageCipher {
  /** The one scheme this version writes and reads. */
  public static final String SCHEME = "AES256_GCM_HKDF_1MB";

  /** The size of a ciphertext segment. */
  static final int SEGMENT_BYTES = 1 << 20;

  private static final String AAD_PREFIX = "torpor-image-v1:";

  private final ImageKeyring keyring;
  private final Map<String, AesGcmHkdfStreaming> aeads = new LinkedHashMap<>();

  /** A cipher that writes with the keyring's current key and reads with any of its keys. */
  public ImageCipher(ImageKeyring keyring) {
    this.keyring = Objects.requireNonNull(keyring, "keyring");
    for (String keyId : keyring.keyIds()) {
      try {
        aeads.put(keyId, new AesGcmHkdfStreaming(keyring.key(keyId), "HmacSha256", 32, SEGMENT_BYTES, 0));
      } catch (InvalidAlgorithmParameterException e) {
        throw new IllegalStateException("Tink refuses the parameters of " + SCHEME, e);
      }
    }
  }

  /** What a manifest of an image encrypted now records: {@code scheme} and {@code keyId}. */
  public Map<String, String> encryption() {
    return Map.of("scheme", SCHEME, "keyId", keyring.currentKeyId());
  }

  /**
   * A stream that encrypts what is written to it into {@code sink}, under the current key, for
   * the image {@code key}. Closing it writes the last segment and closes {@code sink}; an image
   * whose stream was not closed does not decrypt.
   */
  public OutputStream encrypt(OutputStream sink, ImageKey key) throws IOException {
    return encrypt(sink, associatedData(key), "image " + key);
  }

  /**
   * As {@link #encrypt(OutputStream, ImageKey)}, for a frame of the shared pack {@code packId}
   * (associated data {@code "torpor-shared-v1:<packId>"}), which images of several workflows read.
   */
  public OutputStream encryptShared(OutputStream sink, String packId) throws IOException {
    return encrypt(sink, sharedAssociatedData(packId), "shared pack " + packId);
  }

  private OutputStream encrypt(OutputStream sink, byte[] associatedData, String what) throws IOException {
    Objects.requireNonNull(sink, "sink");
    try {
      return aeads.get(keyring.currentKeyId()).newEncryptingStream(sink, associatedData);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot start encrypting " + what + ": " + e.getMessage(), e);
    }
  }

  /**
   * A stream of the plaintext of {@code source}, the stored data of image {@code key}, whose
   * manifest records {@code encryption}. The scheme and key are checked at once; the data as it
   * is read: a read throws an {@link IOException} naming the image if the data was altered,
   * truncated, or belongs to another image.
   *
   * @throws UnknownImageKeyException if the image was encrypted with a key this keyring lacks
   * @throws IOException if {@code encryption} names another scheme or no key
   */
  public InputStream decrypt(InputStream source, ImageKey key, Map<String, String> encryption)
      throws IOException {
    return decrypt(source, key, associatedData(key), encryption);
  }

  /**
   * As {@link #decrypt(InputStream, ImageKey, Map)}, for a frame of the shared pack {@code
   * packId} that image {@code key} reads (named in errors).
   */
  public InputStream decryptShared(InputStream source, ImageKey key, String packId, Map<String, String> encryption)
      throws IOException {
    return decrypt(source, key, sharedAssociatedData(packId), encryption);
  }

  private InputStream decrypt(InputStream source, ImageKey key, byte[] associatedData, Map<String, String> encryption)
      throws IOException {
    Objects.requireNonNull(source, "source");
    String keyId = requireKnownScheme(key, encryption);
    AesGcmHkdfStreaming aead = aeads.get(keyId);
    if (aead == null) {
      throw new UnknownImageKeyException(key, keyId, keyring.keyIds());
    }
    Watched watched = new Watched(source);
    InputStream plain;
    try {
      plain = aead.newDecryptingStream(watched, associatedData);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot start decrypting image " + key + ": " + e.getMessage(), e);
    }
    return new Explained(plain, watched, key, keyId);
  }

  /**
   * Runs data through encryption and decryption, in memory, in 16 MiB passes written and read
   * in 128 KiB pieces as images are, until the cipher runs at least five times as fast as in
   * the first pass twice in a row (the JIT has compiled it), or {@code maxMib} MiB have gone
   * through. JDK 17's AES-GCM runs at tens of MB/s until then (about 300 MiB each way) and at
   * GB/s after; a worker with keys calls this once, in the background, when it starts.
   *
   * @return how long it took
   */
  public java.time.Duration warmUp(int maxMib) throws IOException {
    long t0 = System.nanoTime();
    byte[] plain = new byte[16 << 20];
    new java.util.SplittableRandom(1).nextBytes(plain);
    byte[] piece = new byte[128 << 10];
    java.io.ByteArrayOutputStream sealed = new java.io.ByteArrayOutputStream(plain.length + (1 << 20));
    long first = 0;
    int fast = 0;
    for (int pass = 1; pass * 16 <= Math.max(16, maxMib) && fast < 2; pass++) {
      long p0 = System.nanoTime();
      ImageKey key = new ImageKey("torpor-cipher-warm-up", pass);
      sealed.reset();
      try (OutputStream out = encrypt(sealed, key)) {
        for (int off = 0; off < plain.length; off += piece.length) {
          out.write(plain, off, piece.length);
        }
      }
      try (InputStream in = decrypt(new java.io.ByteArrayInputStream(sealed.toByteArray()), key, encryption())) {
        while (in.read(piece) >= 0) {
          // decrypting is the point
        }
      }
      long took = System.nanoTime() - p0;
      first = pass == 1 ? took : first;
      fast = took * 5 <= first ? fast + 1 : 0;
    }
    return java.time.Duration.ofNanos(System.nanoTime() - t0);
  }

  /**
   * Checks that {@code encryption} (a manifest's) names the scheme this version reads and a key
   * id, and returns the key id.
   *
   * @throws IOException naming the image and the scheme otherwise
   */
  public static String requireKnownScheme(ImageKey key, Map<String, String> encryption) throws IOException {
    Objects.requireNonNull(encryption, "encryption (image " + key + " is not encrypted)");
    String scheme = encryption.get("scheme");
    if (!SCHEME.equals(scheme)) {
      throw new IOException(
          "image " + key + " is encrypted with the scheme '" + scheme + "', which this version of Torpor does"
              + " not read (it reads " + SCHEME + "); restore it with the Torpor that wrote it, or a newer one");
    }
    String keyId = encryption.get("keyId");
    if (keyId == null || keyId.isBlank()) {
      throw new IOException("the manifest of image " + key + " says it is encrypted but names no keyId");
    }
    return keyId;
  }

  /** The associated data that binds a ciphertext to a shared pack. */
  static byte[] sharedAssociatedData(String packId) {
    return ("torpor-shared-v1:" + packId).getBytes(StandardCharsets.UTF_8);
  }

  /** The associated data that binds a ciphertext to its image. */
  static byte[] associatedData(ImageKey key) {
    return (AAD_PREFIX + key.workflowId() + "#" + key.seq()).getBytes(StandardCharsets.UTF_8);
  }

  /** Remembers a failure of the source, which is not the ciphertext's fault. */
  private static final class Watched extends FilterInputStream {
    IOException failure;

    Watched(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException e) {
        failure = e;
        throw e;
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException e) {
        failure = e;
        throw e;
      }
    }
  }

  /** Says which image failed to decrypt, and what that means. */
  private static final class Explained extends FilterInputStream {
    private final Watched source;
    private final ImageKey image;
    private final String keyId;

    Explained(InputStream in, Watched source, ImageKey image, String keyId) {
      super(in);
      this.source = source;
      this.image = image;
      this.keyId = keyId;
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException e) {
        throw explain(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException e) {
        throw explain(e);
      }
    }

    @Override
    public long skip(long n) throws IOException {
      try {
        return in.skip(n);
      } catch (IOException e) {
        throw explain(e);
      }
    }

    private IOException explain(IOException e) {
      if (source.failure != null) {
        return e; // reading the store failed: the data may be fine
      }
      return new IOException(
          "image " + image + " does not decrypt under image key " + keyId
              + ": its data was altered or cut short, or belongs to another image (" + e.getMessage() + ")",
          e);
    }
  }
}
