package dev.torpor.launcher.internal;

import static dev.torpor.storage.crypto.TestKeys.keyId;
import static dev.torpor.storage.crypto.TestKeys.keyring;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.storage.ImageKey;
import dev.torpor.storage.TestManifests;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.UnknownImageKeyException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagePackerEncryptionTest {
  private static final ImageKey KEY = new ImageKey("wf-sealed", 4);
  private static final String CORE_TEXT = "core of the task\n";

  @TempDir Path tmp;

  private final ImageCipher cipher = new ImageCipher(keyring(1));
  private final ImagePacker packer = new ImagePacker(1, Optional.of(cipher));
  private Path source;
  private Map<String, byte[]> files;

  @BeforeEach
  void writeSourceImage() throws IOException {
    source = Files.createDirectory(tmp.resolve("dump"));
    files = new LinkedHashMap<>();
    byte[] big = new byte[5 * 1024 * 1024 + 123];
    new Random(42).nextBytes(big);
    files.put("pages-1.img", big);
    files.put("core-1.img", CORE_TEXT.repeat(1000).getBytes(StandardCharsets.UTF_8));
    files.put("inventory.img", new byte[] {1, 2, 3});
    files.put("empty.img", new byte[0]);
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Files.write(source.resolve(f.getKey()), f.getValue());
    }
  }

  private record Stored(ImagePacker.Packed packed, byte[] data) {}

  private Stored pack() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImagePacker.Packed packed = packer.pack(KEY, source, out);
    return new Stored(packed, out.toByteArray());
  }

  private void assertRestored(Path target) throws IOException {
    try (Stream<Path> listed = Files.list(target)) {
      assertThat(listed.map(p -> p.getFileName().toString())).containsExactlyInAnyOrderElementsOf(files.keySet());
    }
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      assertThat(Files.readAllBytes(target.resolve(f.getKey()))).as(f.getKey()).isEqualTo(f.getValue());
    }
  }

  @Test
  void packThenUnpackEncryptedRestoresEveryByte() throws IOException {
    Stored stored = pack();
    long raw = files.values().stream().mapToLong(b -> b.length).sum();

    assertThat(stored.packed().rawBytes()).isEqualTo(raw);
    assertThat(stored.packed().encryption()).isEqualTo(Map.of("scheme", "AES256_GCM_HKDF_1MB", "keyId", keyId(1)));
    Path target = tmp.resolve("restore").resolve("4");
    long unpacked =
        packer.unpack(KEY, new ByteArrayInputStream(stored.data()), target, stored.packed().sha256(), stored.packed().encryption());

    assertThat(unpacked).isEqualTo(raw);
    assertRestored(target);
  }

  @Test
  void theManifestsHashAndSizeAreOfTheBytesAsStored() throws IOException {
    Stored stored = pack();

    assertThat(stored.packed().sha256()).isEqualTo(TestManifests.sha256Hex(stored.data()));
    assertThat(stored.packed().packedBytes()).isEqualTo(stored.data().length);
    String asText = new String(stored.data(), StandardCharsets.ISO_8859_1);
    assertThat(asText).as("the stored bytes are ciphertext").doesNotContain(CORE_TEXT).doesNotContain("ustar");
    assertThat(Arrays.copyOf(stored.data(), 4))
        .as("not a zstd frame")
        .isNotEqualTo(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd});
  }

  @Test
  void aFlippedStoredByteIsRefusedAndNoDirectoryIsLeft() throws IOException {
    Stored stored = pack();
    byte[] bad = stored.data().clone();
    bad[bad.length / 2] ^= 0x01;
    Path target = tmp.resolve("restore");

    assertThatThrownBy(() ->
            packer.unpack(KEY, new ByteArrayInputStream(bad), target, stored.packed().sha256(), stored.packed().encryption()))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining(stored.packed().sha256())
        .hasMessageContaining(TestManifests.sha256Hex(bad))
        .hasMessageContaining("does not decrypt");
    assertThat(target).doesNotExist();
  }

  @Test
  void tamperedDataIsRefusedEvenWithAManifestHashToMatch() throws IOException {
    // Whoever can rewrite the data and the manifest's sha256 still cannot forge the ciphertext.
    Stored stored = pack();
    for (int position : new int[] {0, 100, stored.data().length / 3, stored.data().length - 1}) {
      byte[] bad = stored.data().clone();
      bad[position] ^= 0x40;
      Path target = tmp.resolve("restore-" + position);

      assertThatThrownBy(() -> packer.unpack(
              KEY, new ByteArrayInputStream(bad), target, TestManifests.sha256Hex(bad), stored.packed().encryption()))
          .as("byte %d flipped", position)
          .isInstanceOf(ImageCorruptException.class)
          .hasMessageContaining("cannot unpack")
          .hasMessageContaining("does not decrypt under image key " + keyId(1));
      assertThat(target).doesNotExist();
    }
  }

  @Test
  void dataCutAtASegmentBoundaryIsRefusedEvenWithAHashToMatch() throws IOException {
    Stored stored = pack();
    for (int cut = 1 << 20; cut < stored.data().length; cut += 1 << 20) {
      byte[] truncated = Arrays.copyOf(stored.data(), cut);
      Path target = tmp.resolve("restore-" + cut);

      assertThatThrownBy(() -> packer.unpack(
              KEY, new ByteArrayInputStream(truncated), target, TestManifests.sha256Hex(truncated), stored.packed().encryption()))
          .as("cut to %d of %d bytes", cut, stored.data().length)
          .isInstanceOf(ImageCorruptException.class)
          .hasMessageContaining("cannot unpack");
      assertThat(target).doesNotExist();
    }
  }

  @Test
  void dataOfAnotherImageIsRefused() throws IOException {
    Stored stored = pack();
    ImageKey other = new ImageKey(KEY.workflowId(), KEY.seq() + 1);
    Path target = tmp.resolve("restore");

    assertThatThrownBy(() -> packer.unpack(
            other, new ByteArrayInputStream(stored.data()), target, stored.packed().sha256(), stored.packed().encryption()))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("image " + other + " does not decrypt");
    assertThat(target).doesNotExist();
  }

  @Test
  void anUnknownKeyIsSaidSoAndNothingIsCreated() throws IOException {
    Stored stored = pack();
    Path target = tmp.resolve("restore");
    ImagePacker rotatedTooFar = new ImagePacker(1, Optional.of(new ImageCipher(keyring(2))));
    ImagePacker noKeys = new ImagePacker(1);

    assertThatThrownBy(() -> rotatedTooFar.unpack(
            KEY, new ByteArrayInputStream(stored.data()), target, stored.packed().sha256(), stored.packed().encryption()))
        .isInstanceOf(UnknownImageKeyException.class)
        .hasMessageContaining(keyId(1))
        .hasMessageContaining("[" + keyId(2) + "]");
    assertThatThrownBy(() -> noKeys.unpack(
            KEY, new ByteArrayInputStream(stored.data()), target, stored.packed().sha256(), stored.packed().encryption()))
        .isInstanceOf(UnknownImageKeyException.class)
        .hasMessageContaining("this worker has no image keys");
    assertThat(target).doesNotExist();
  }

  @Test
  void anImageUnderAnOlderKeyUnpacksAfterRotation() throws IOException {
    Stored stored = pack();
    ImagePacker rotated = new ImagePacker(1, Optional.of(new ImageCipher(keyring(2, 1))));
    Path target = tmp.resolve("restore");

    rotated.unpack(KEY, new ByteArrayInputStream(stored.data()), target, stored.packed().sha256(), stored.packed().encryption());

    assertRestored(target);
  }

  @Test
  void anEncryptingPackerStillReadsImagesInTheClear() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImagePacker.Packed clear = new ImagePacker(1).pack(source, out);
    Path target = tmp.resolve("restore");

    assertThat(clear.encryption()).isNull();
    packer.unpack(KEY, new ByteArrayInputStream(out.toByteArray()), target, clear.sha256(), null);

    assertRestored(target);
  }

  @Test
  void anEncryptingPackerNeedsTheImageKeyToPack() {
    assertThatThrownBy(() -> packer.pack(source, new ByteArrayOutputStream()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("pack(ImageKey, Path, OutputStream)");
  }
}
