package dev.torpor.storage;

import java.io.IOException;
import java.io.OutputStream;

/**
 * One image being written. Write the packed data to {@link #data()}, then {@link
 * #commit(ImageManifest)}; until the manifest is committed no reader sees the image. Closing
 * without committing aborts and removes what was written.
 */
public interface ImageUpload extends AutoCloseable {
  /** Where the packed data goes. Do not close it; {@link #commit} does. */
  OutputStream data();

  /**
   * Makes the data durable, then writes the manifest atomically: from then on the image
   * exists. The manifest's key must be this upload's key.
   */
  void commit(ImageManifest manifest) throws IOException;

  /** Aborts unless committed. Never throws for an abort. */
  @Override
  void close();
}
