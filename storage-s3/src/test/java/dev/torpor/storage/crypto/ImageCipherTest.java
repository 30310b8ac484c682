package dev.torpor.storage.crypto;

import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.crypto.TestKeys.keyId;
import static dev.torpor.storage.crypto.TestKeys.keyring;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.storage.ImageKey;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImageCipherTest {
  private static final int SEGMENT = ImageCipher.SEGMENT_BYTES;
  private static final int HEADER = 1 + 32 + 7; // length byte, HKDF salt, nonce prefix
  private static final int TAG = 16;
  private static final int FIRST_PLAIN = SEGMENT - HEADER - TAG;
  private static final int PLAIN = SEGMENT - TAG;

  private static final ImageKey IMAGE = new ImageKey("wf-crypt", 7);

  private final ImageCipher cipher = new ImageCipher(keyring(1));

  private static byte[] encrypt(ImageCipher cipher, ImageKey image, byte[] plain) throws IOException {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (OutputStream out = cipher.encrypt(sink, image)) {
      // Uneven writes, to cross segment boundaries inside a write.
      int off = 0;
      for (int chunk = 1; off < plain.length; chunk = chunk * 3 + 7) {
        int n = Math.min(chunk, plain.length - off);
        out.write(plain, off, n);
        off += n;
      }
    }
    return sink.toByteArray();
  }

  private static byte[] decrypt(ImageCipher cipher, ImageKey image, Map<String, String> encryption, byte[] stored)
      throws IOException {
    try (InputStream in = cipher.decrypt(new ByteArrayInputStream(stored), image, encryption)) {
      return in.readAllBytes();
    }
  }

  private byte[] decrypt(byte[] stored) throws IOException {
    return decrypt(cipher, IMAGE, cipher.encryption(), stored);
  }

  private static long ciphertextSize(long plain) {
    if (plain <= FIRST_PLAIN) {
      return HEADER + plain + TAG;
    }
    long rest = plain - FIRST_PLAIN;
    long segments = 1 + (rest + PLAIN - 1) / PLAIN;
    return HEADER + plain + segments * TAG;
  }

  @ParameterizedTest
  @ValueSource(
      ints = {
        0, 1, 4096, FIRST_PLAIN - 1, FIRST_PLAIN, FIRST_PLAIN + 1, SEGMENT, FIRST_PLAIN + PLAIN,
        FIRST_PLAIN + PLAIN + 1, 2 * SEGMENT, 5 * SEGMENT + 12_345
      })
  void roundTrips(int size) throws IOException {
    byte[] plain = bytes(size, size);

    byte[] stored = encrypt(cipher, IMAGE, plain);

    assertThat(stored.length).isEqualTo(ciphertextSize(size));
    assertThat(decrypt(stored)).isEqualTo(plain);
  }

  @Test
  void aWarmUpIsBoundedAndLeavesTheCipherAsItWas() throws IOException {
    assertThat(cipher.warmUp(32)).isPositive(); // at most two 16 MiB passes each way
    byte[] plain = "after the warm-up".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertThat(decrypt(cipher, IMAGE, cipher.encryption(), encrypt(cipher, IMAGE, plain))).isEqualTo(plain);
    assertThat(cipher.encryption().get("keyId")).isEqualTo(keyId(1));
  }

  @Test
  void writesTheSchemeAndCurrentKeyIdForTheManifest() {
    assertThat(cipher.encryption()).containsExactlyInAnyOrderEntriesOf(
        Map.of("scheme", "AES256_GCM_HKDF_1MB", "keyId", keyId(1)));
  }

  @Test
  void everyImageGetsItsOwnKeyAndTheCiphertextHidesThePlaintext() throws IOException {
    byte[] plain = "the same heap, twice; ".repeat(1000).getBytes(java.nio.charset.StandardCharsets.UTF_8);

    byte[] one = encrypt(cipher, IMAGE, plain);
    byte[] two = encrypt(cipher, IMAGE, plain);

    assertThat(one).isNotEqualTo(two);
    assertThat(Arrays.copyOfRange(one, 1, HEADER)).as("salt and nonce prefix").isNotEqualTo(Arrays.copyOfRange(two, 1, HEADER));
    assertThat(new String(one, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain("the same heap");
    assertThat(decrypt(one)).isEqualTo(plain);
    assertThat(decrypt(two)).isEqualTo(plain);
  }

  @Test
  void aCiphertextDoesNotDecryptAsAnotherImage() throws IOException {
    byte[] stored = encrypt(cipher, IMAGE, bytes(3, 100_000));

    for (ImageKey other : List.of(new ImageKey("wf-crypt", 8), new ImageKey("wf-crypt2", 7), new ImageKey("wf-cryp", 7))) {
      assertThatThrownBy(() -> decrypt(cipher, other, cipher.encryption(), stored))
          .as("decrypted as " + other)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("image " + other + " does not decrypt under image key " + keyId(1))
          .hasMessageContaining("altered or cut short, or belongs to another image");
    }
  }

  @Test
  void aFlippedBitAnywhereInASmallImageFails() throws IOException {
    byte[] stored = encrypt(cipher, IMAGE, bytes(4, 300));

    for (int i = 0; i < stored.length; i++) {
      for (int bit : new int[] {0, 7}) {
        byte[] bad = stored.clone();
        bad[i] ^= (byte) (1 << bit);
        assertThatThrownBy(() -> decrypt(bad)).as("bit %d of byte %d flipped", bit, i).isInstanceOf(IOException.class);
      }
    }
  }

  @Test
  void aFlippedBitInAnySegmentOfALargeImageFails() throws IOException {
    byte[] stored = encrypt(cipher, IMAGE, bytes(5, 3 * SEGMENT + 1000));
    TreeSet<Integer> positions = new TreeSet<>(List.of(0, 1, HEADER - 1, HEADER, stored.length / 2, stored.length - 1));
    for (int s = 1; s * SEGMENT < stored.length; s++) {
      positions.addAll(List.of(s * SEGMENT - TAG - 1, s * SEGMENT - 1, s * SEGMENT, s * SEGMENT + 1));
    }

    for (int i : positions) {
      byte[] bad = stored.clone();
      bad[i] ^= 0x10;
      assertThatThrownBy(() -> decrypt(bad)).as("byte %d of %d flipped", i, stored.length).isInstanceOf(IOException.class);
    }
  }

  @Test
  void truncationAtEverySegmentBoundaryAndInsideSegmentsFails() throws IOException {
    byte[] stored = encrypt(cipher, IMAGE, bytes(6, 4 * SEGMENT));
    List<Integer> cuts = new ArrayList<>(List.of(0, 1, HEADER - 1, HEADER, HEADER + 1, stored.length - 1, stored.length - TAG));
    for (int s = 1; s * SEGMENT < stored.length; s++) {
      cuts.add(s * SEGMENT); // a whole number of segments: only the last-segment flag tells
      cuts.add(s * SEGMENT - TAG);
      cuts.add(s * SEGMENT + SEGMENT / 2);
    }

    for (int cut : cuts) {
      byte[] truncated = Arrays.copyOf(stored, Math.min(cut, stored.length - 1));
      assertThatThrownBy(() -> decrypt(truncated))
          .as("cut to %d of %d bytes", truncated.length, stored.length)
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void droppedReorderedOrAppendedDataFails() throws IOException {
    byte[] stored = encrypt(cipher, IMAGE, bytes(7, 3 * SEGMENT));
    byte[] dropped = concat(Arrays.copyOfRange(stored, 0, SEGMENT), Arrays.copyOfRange(stored, 2 * SEGMENT, stored.length));
    byte[] swapped =
        concat(
            Arrays.copyOfRange(stored, 0, SEGMENT),
            Arrays.copyOfRange(stored, 2 * SEGMENT, 3 * SEGMENT),
            Arrays.copyOfRange(stored, SEGMENT, 2 * SEGMENT),
            Arrays.copyOfRange(stored, 3 * SEGMENT, stored.length));
    byte[] appended = concat(stored, new byte[] {0});
    byte[] doubled = concat(stored, stored);

    for (byte[] bad : List.of(dropped, swapped, appended, doubled)) {
      assertThatThrownBy(() -> decrypt(bad)).isInstanceOf(IOException.class);
    }
  }

  @Test
  void noPlaintextOfATamperedSegmentIsReleased() throws IOException {
    byte[] plain = bytes(8, 2 * SEGMENT);
    byte[] stored = encrypt(cipher, IMAGE, plain);
    stored[SEGMENT + 100] ^= 1; // in the second segment
    ByteArrayOutputStream released = new ByteArrayOutputStream();

    assertThatThrownBy(() -> {
          try (InputStream in = cipher.decrypt(new ByteArrayInputStream(stored), IMAGE, cipher.encryption())) {
            in.transferTo(released);
          }
        })
        .isInstanceOf(IOException.class);
    // Only (part of) the first, authentic segment came out: nothing of the second.
    assertThat(released.size()).isGreaterThan(0).isLessThanOrEqualTo(FIRST_PLAIN);
    assertThat(released.toByteArray()).isEqualTo(Arrays.copyOf(plain, released.size()));
  }

  @Test
  void rotationReadsOldImagesUntilTheirKeyIsRemoved() throws IOException {
    byte[] plain = bytes(9, 50_000);
    byte[] old = encrypt(new ImageCipher(keyring(1)), IMAGE, plain);
    Map<String, String> oldEncryption = new ImageCipher(keyring(1)).encryption();

    ImageCipher rotated = new ImageCipher(keyring(2, 1));
    assertThat(decrypt(rotated, IMAGE, oldEncryption, old)).isEqualTo(plain);
    assertThat(rotated.encryption()).containsEntry("keyId", keyId(2));
    byte[] fresh = encrypt(rotated, IMAGE, plain);
    assertThat(decrypt(rotated, IMAGE, rotated.encryption(), fresh)).isEqualTo(plain);

    ImageCipher oldKeyRemoved = new ImageCipher(keyring(2));
    assertThat(decrypt(oldKeyRemoved, IMAGE, rotated.encryption(), fresh)).isEqualTo(plain);
    assertThatThrownBy(() -> decrypt(oldKeyRemoved, IMAGE, oldEncryption, old))
        .isInstanceOfSatisfying(UnknownImageKeyException.class, e -> {
          assertThat(e.image()).isEqualTo(IMAGE);
          assertThat(e.keyId()).isEqualTo(keyId(1));
          assertThat(e.knownKeyIds()).containsExactly(keyId(2));
        })
        .hasMessageContaining("image " + IMAGE + " was encrypted with the image key " + keyId(1))
        .hasMessageContaining("this worker holds keys [" + keyId(2) + "]")
        .hasMessageContaining("add the key that wrote it to the key file");
  }

  @Test
  void aManifestNamingAnotherHeldKeyDoesNotDecrypt() throws IOException {
    // The manifest names key 2, which the reader holds, but key 1 encrypted the data.
    byte[] stored = encrypt(cipher, IMAGE, bytes(10, 1000));
    ImageCipher both = new ImageCipher(keyring(1, 2));

    assertThatThrownBy(() -> decrypt(both, IMAGE, Map.of("scheme", ImageCipher.SCHEME, "keyId", keyId(2)), stored))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("does not decrypt under image key " + keyId(2));
  }

  @Test
  void anUnknownSchemeOrAMissingKeyIdIsRefusedBeforeReading() {
    InputStream untouchable = new InputStream() {
      @Override
      public int read() {
        throw new AssertionError("read before the scheme was checked");
      }
    };

    assertThatThrownBy(() -> cipher.decrypt(untouchable, IMAGE, Map.of("scheme", "CHACHA_FUTURE", "keyId", keyId(1))))
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(UnknownImageKeyException.class)
        .hasMessageContaining("image " + IMAGE + " is encrypted with the scheme 'CHACHA_FUTURE'")
        .hasMessageContaining("it reads AES256_GCM_HKDF_1MB");
    assertThatThrownBy(() -> cipher.decrypt(untouchable, IMAGE, Map.of("scheme", ImageCipher.SCHEME)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("names no keyId");
  }

  @Test
  void aFailureToReadTheStoreIsNotCalledTampering() throws IOException {
    byte[] stored = encrypt(cipher, IMAGE, bytes(11, 3 * SEGMENT));
    IOException network = new IOException("connection reset by the store");
    InputStream flaky = new FilterInputStream(new ByteArrayInputStream(stored)) {
      private int read;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (read > SEGMENT) {
          throw network;
        }
        int n = super.read(b, off, len);
        read += Math.max(n, 0);
        return n;
      }
    };

    assertThatThrownBy(() -> {
          try (InputStream in = cipher.decrypt(flaky, IMAGE, cipher.encryption())) {
            in.readAllBytes();
          }
        })
        .isSameAs(network);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      all.writeBytes(p);
    }
    return all.toByteArray();
  }
}
