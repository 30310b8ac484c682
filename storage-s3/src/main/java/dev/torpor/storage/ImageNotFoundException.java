package dev.torpor.storage;

import java.io.IOException;

/**
 * No committed image has the requested key, no application jar the requested SHA-256, or no
 * shared object the requested name.
 */
public final class ImageNotFoundException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient ImageKey key;
  private final String appSha256;
  private final String sharedName;

  public ImageNotFoundException(ImageKey key, String where) {
    this("no committed image " + key + " in " + where, key, null, null);
  }

  private ImageNotFoundException(String message, ImageKey key, String appSha256, String sharedName) {
    super(message);
    this.key = key;
    this.appSha256 = appSha256;
    this.sharedName = sharedName;
  }

  /** No application jar is stored under {@code sha256} in {@code where}. */
  public static ImageNotFoundException ofApp(String sha256, String where) {
    return new ImageNotFoundException(
        "no application jar " + sha256 + " in " + where, null, sha256, null);
  }

  /** No shared object named {@code name} is stored in {@code where}. */
  public static ImageNotFoundException ofShared(String name, String where) {
    return new ImageNotFoundException(
        "no shared object " + name + " in " + where, null, null, name);
  }

  /** The key of the missing image; null if an application jar or a shared object is missing. */
  public ImageKey key() {
    return key;
  }

  /** The SHA-256 of the missing application jar; null if an image or a shared object is missing. */
  public String appSha256() {
    return appSha256;
  }

  /** The name of the missing shared object; null if an image or an application jar is missing. */
  public String sharedName() {
    return sharedName;
  }
}
