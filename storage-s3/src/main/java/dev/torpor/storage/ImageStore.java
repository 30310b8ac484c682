package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where checkpoint images live, and the application jars they run from, so that every worker of a
 * cluster can fetch them: a local directory (the embedded default) or an S3 bucket, with the same
 * key layout ({@link ImageKey}). Implementations are thread-safe. The contract every
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

  /**
   * Stores an application jar under its SHA-256 (key {@code apps/<sha256>.jar}, beside {@code
   * images/}), unless one is already stored under it: then {@code jar} is not read. The bytes are
   * hashed while they are uploaded; a jar whose hash is not {@code sha256} is refused and not
   * stored. Putting one jar twice, or from two threads at once, is harmless. Jars are not
   * images: {@link #workflowIds()} and {@link #seqs} do not list them.
   *
   * @param sha256 the jar's SHA-256, 64 lowercase hex characters
   * @throws IllegalArgumentException naming the value if {@code sha256} is not 64 lowercase hex
   *     characters, or naming both hashes if it is not the SHA-256 of {@code jar}
   */
  void putApp(String sha256, Path jar) throws IOException;

  /**
   * Copies the application jar stored under {@code sha256} to {@code target}, atomically: to a
   * temp file in {@code target}'s folder (which must exist), hashed while it is written, then
   * linked into place unless a file is already at {@code target}, which is kept: the path is
   * content-addressed, and a workflow JVM may hold that file open ({@link ContentAddressed}). A
   * jar whose SHA-256 is not {@code
   * sha256} (a damaged store) is not moved into place: the temp file is deleted and an {@link
   * IOException} names the stored jar.
   *
   * @throws ImageNotFoundException if no jar is stored under {@code sha256}; {@link
   *     ImageNotFoundException#appSha256()} names it
   * @throws IllegalArgumentException naming the value if {@code sha256} is not 64 lowercase hex
   *     characters
   */
  void fetchApp(String sha256, Path target) throws IOException;

  /** A short description for logs and errors, e.g. {@code local:/var/lib/torpor/store}. */
  String describe();

  @Override
  default void close() {}
}
