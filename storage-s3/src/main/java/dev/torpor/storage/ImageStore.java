package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * Where checkpoint images live: a local directory (the embedded default) or an S3 bucket, with
 * the same key layout ({@link ImageKey}). Implementations are thread-safe. The contract every
 * implementation keeps:
 *
 * <ul>
 *   <li>an image exists once, and only once, its manifest is committed; the manifest is written
 *       after the data is durable, so a crash mid-write never leaves a half image that looks
 *       committed;
 *   <li>readers never see a partial manifest or the data of an uncommitted image;
 *   <li>a store verifies nothing on read: callers check {@link ImageManifest#sha256()}.
 * </ul>
 */
public interface ImageStore extends AutoCloseable {
  /**
   * Starts writing an image.
   *
   * @throws java.nio.file.FileAlreadyExistsException if an image is already committed under the key
   */
  ImageUpload begin(ImageKey key) throws IOException;

  /**
   * The manifest of a committed image.
   *
   * @throws CorruptManifestException if the stored manifest cannot be read or describes another
   *     image than {@code key}
   */
  Optional<ImageManifest> manifest(ImageKey key) throws IOException;

  /**
   * Opens the data of a committed image.
   *
   * @throws ImageNotFoundException if no committed image has this key
   */
  InputStream openData(ImageKey key) throws IOException;

  /** The seqs of a workflow's committed images, ascending. */
  List<Long> seqs(String workflowId) throws IOException;

  /**
   * The ids of every workflow with at least one committed image, sorted; for garbage collection.
   * Data without a manifest (an upload that never committed) does not count. Lists the whole
   * store, so it may take a while on a large one.
   */
  List<String> workflowIds() throws IOException;

  /** The manifest of a workflow's newest committed image. */
  default Optional<ImageManifest> latest(String workflowId) throws IOException {
    List<Long> seqs = seqs(workflowId);
    for (int i = seqs.size() - 1; i >= 0; i--) {
      Optional<ImageManifest> m = manifest(new ImageKey(workflowId, seqs.get(i)));
      if (m.isPresent()) {
        return m;
      }
    }
    return Optional.empty();
  }

  /** Deletes an image: the manifest first (so it stops existing), then the data. */
  void delete(ImageKey key) throws IOException;

  /** A short description for logs and errors, e.g. {@code local:/var/lib/torpor/store}. */
  String describe();

  @Override
  default void close() {}
}
