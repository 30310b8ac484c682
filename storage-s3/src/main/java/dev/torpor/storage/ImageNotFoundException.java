package dev.torpor.storage;

import java.io.IOException;

/** No committed image has the requested key, or no application jar the requested SHA-256. */
public final class ImageNotFoundException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient ImageKey key;
  private final String appSha256;

  public ImageNotFoundException(ImageKey key, String where) {
    this("no committed image " + key + " in " + where, key, null);
  }

  private ImageNotFoundException(String message, ImageKey key, String appSha256) {
    super(message);
    this.key = key;
    this.appSha256 = appSha256;
  }

  /** No application jar is stored under {@code sha256} in {@code where}. */
  public static ImageNotFoundException ofApp(String sha256, String where) {
    return new ImageNotFoundException(
        "no application jar " + sha256 + " in " + where, null, sha256);
  }

  /** The key of the missing image; null if an application jar is missing. */
  public ImageKey key() {
    return key;
  }

  /** The SHA-256 of the missing application jar; null if an image is missing. */
  public String appSha256() {
    return appSha256;
  }
}
