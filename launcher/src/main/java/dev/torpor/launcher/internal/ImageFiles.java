package dev.torpor.launcher.internal;

import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Rebuilds a stored image's files (CRIU's, as dumped) in a directory, whatever its format, with
 * every check a restore makes: for tools that look into images, such as the benchmarks.
 */
public final class ImageFiles {
  private ImageFiles() {}

  /**
   * Writes the files of image {@code m} from {@code store} into {@code dir} (absent or empty),
   * decrypting with {@code keys} if it is encrypted.
   *
   * @throws ImageCorruptException if any of it does not match its manifest
   */
  public static void unpack(ImageStore store, ImageManifest m, Optional<ImageKeyring> keys, Path dir) throws IOException {
    Optional<ImageCipher> cipher = keys.map(ImageCipher::new);
    if (m.chunked()) {
      new ChunkedImages(store, cipher, 1).read(m, dir);
      return;
    }
    try (InputStream in = store.openData(m.key())) {
      new ImagePacker(1, cipher).unpack(m.key(), in, dir, m.sha256(), m.encryption());
    }
  }
}
