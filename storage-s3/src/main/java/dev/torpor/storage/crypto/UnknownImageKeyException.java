package dev.torpor.storage.crypto;

import dev.torpor.storage.ImageKey;
import java.io.IOException;
import java.util.List;

/**
 * An image (or its manifest) was made with an image key this worker does not hold: the key was
 * removed from the key file, or the worker was given another key file. Nothing is restored. The
 * cure is to add the key that wrote the image to the key file, below the current key.
 */
public final class UnknownImageKeyException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient ImageKey image;
  private final String keyId;
  private final List<String> knownKeyIds;

  /**
   * @param image the image that cannot be read
   * @param keyId the id of the key it was made with
   * @param knownKeyIds the ids of the keys this worker holds, possibly none
   */
  public UnknownImageKeyException(ImageKey image, String keyId, List<String> knownKeyIds) {
    super(message(image, keyId, knownKeyIds));
    this.image = image;
    this.keyId = keyId;
    this.knownKeyIds = List.copyOf(knownKeyIds);
  }

  private static String message(ImageKey image, String keyId, List<String> known) {
    String held = known.isEmpty() ? "this worker has no image keys" : "this worker holds keys " + known;
    return "image " + image + " was encrypted with the image key " + keyId + ", which this worker does not hold ("
        + held + "); add the key that wrote it to the key file (below the current key) and retry";
  }

  /** The image that cannot be read. */
  public ImageKey image() {
    return image;
  }

  /** The id of the key the image was made with. */
  public String keyId() {
    return keyId;
  }

  /** The ids of the keys this worker holds. */
  public List<String> knownKeyIds() {
    return knownKeyIds;
  }
}
