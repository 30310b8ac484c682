package dev.torpor.storage;

import java.io.IOException;

/** No committed image has the requested key. */
public final class ImageNotFoundException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient ImageKey key;

  public ImageNotFoundException(ImageKey key, String where) {
    super("no committed image " + key + " in " + where);
    this.key = key;
  }

  public ImageKey key() {
    return key;
  }
}
