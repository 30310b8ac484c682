package dev.torpor.storage.crypto;

import dev.torpor.storage.ImageKey;
import java.io.IOException;

/**
 * A manifest could not be authenticated with this worker's image keys: it has no mac, its mac
 * is wrong (the manifest was altered), it was signed with a key this worker does not hold, or it
 * describes another image than the one asked for (a manifest swapped in from elsewhere). The
 * image is refused and nothing is restored.
 */
public final class ManifestAuthenticationException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient ImageKey image;

  /**
   * @param image the image whose manifest was refused
   * @param problem what is wrong and what to do about it
   */
  public ManifestAuthenticationException(ImageKey image, String problem) {
    super("the manifest of image " + image + " is not authentic: " + problem);
    this.image = image;
  }

  /** The image whose manifest was refused. */
  public ImageKey image() {
    return image;
  }
}
