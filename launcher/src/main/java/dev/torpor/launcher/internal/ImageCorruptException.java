package dev.torpor.launcher.internal;

import dev.torpor.storage.ImageKey;
import java.io.IOException;

/** An image's data does not match its manifest: it is refused and nothing is restored. */
public final class ImageCorruptException extends IOException {
  private static final long serialVersionUID = 1L;

  public ImageCorruptException(ImageKey key, String expected, String actual, String problem) {
    super("image " + key + " is corrupt: its data has SHA-256 " + actual + " but the manifest says " + expected
        + (problem == null ? "" : " (" + problem + ")")
        + "; refusing to restore it. Restore an intact copy of the image data to the store and retry");
  }

  /** A chunked image whose index, or one of whose frames, is damaged or missing: {@code problem} names which. */
  public ImageCorruptException(ImageKey key, String problem) {
    super("image " + key + " is corrupt: " + problem + "; refusing to restore it. Restore an intact copy of the"
        + " named data object to the store and retry");
  }
}
