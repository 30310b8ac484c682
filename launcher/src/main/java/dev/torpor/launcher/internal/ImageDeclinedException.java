package dev.torpor.launcher.internal;

import java.io.IOException;

/**
 * This worker cannot restore an image (it was dumped by another JDK build, or on a CPU with
 * features this one lacks). Not a fault of the image: another worker may restore it.
 */
public final class ImageDeclinedException extends IOException {
  private static final long serialVersionUID = 1L;

  public ImageDeclinedException(String message) {
    super(message);
  }
}
