package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

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

  /**
   * Opens {@code length} bytes of the data object of {@code key} from {@code offset}, whether
   * or not its manifest is committed: a chunked image reads frames from the data objects of
   * earlier images, which outlive their own manifests while it needs them.
   *
   * @throws ImageNotFoundException if the object does not exist
   * @throws IOException if it ends before {@code offset + length} (the stream, or the open)
   */
  InputStream openRange(ImageKey key, long offset, long length) throws IOException;

  /**
   * The seqs of a workflow's data objects, ascending, whether their manifests are committed or
   * not: objects that later images still read, and uploads in flight or abandoned.
   */
  List<Long> dataSeqs(String workflowId) throws IOException;

  /** Deletes an image's manifest only: the image stops existing. Deleting what is gone is no error. */
  void deleteManifest(ImageKey key) throws IOException;

  /** Deletes a data object only. Deleting what is gone is no error. */
  void deleteData(ImageKey key) throws IOException;

  /**
   * Deletes an image: its manifest first (so it stops existing), then, as {@link #sweep} does,
   * the data objects of its workflow that no remaining image reads, its own included even when
   * it was the newest. Callers delete an image only once no restore will read it: a newer one is
   * recorded, or the workflow finished.
   */
  default void delete(ImageKey key) throws IOException {
    deleteManifest(key);
    sweep(key.workflowId(), key.seq());
  }

  /**
   * Deletes every data object of a workflow that no image reads ({@link ImageManifest#packSeqs()})
   * and that is older than the newest image; objects newer than every image are left alone: they
   * may be an upload in flight, which reads only objects that the image it grew from (still
   * committed then) reads too. With no image left, every data object goes. Idempotent, so a
   * sweep cut short by a crash is finished by the next one.
   *
   * @throws IOException if a manifest of the workflow cannot be read: then nothing is deleted,
   *     since that image may read any object
   */
  default void sweep(String workflowId) throws IOException {
    sweep(workflowId, -1);
  }

  private void sweep(String workflowId, long alsoSeq) throws IOException {
    Set<Long> live = new HashSet<>();
    long newest = -1;
    for (long seq : seqs(workflowId)) {
      ImageKey other = new ImageKey(workflowId, seq);
      newest = Math.max(newest, seq);
      try {
        manifest(other).ifPresent(m -> live.addAll(m.packSeqs()));
      } catch (IOException e) {
        throw new IOException("cannot sweep the data objects of workflow " + workflowId + ": the manifest of image "
            + other + " cannot be read, and nothing it may read is deleted: " + e.getMessage(), e);
      }
    }
    for (long seq : dataSeqs(workflowId)) {
      if (!live.contains(seq) && (seq < newest || seq == alsoSeq || newest < 0)) {
        deleteData(new ImageKey(workflowId, seq));
      }
    }
  }

  /**
   * Writes the object {@code shared/<name>}, replacing any object of that name, durably before
   * it returns. Shared objects belong to no workflow: packs of chunk frames that images of
   * several workflows read, and the markers that keep them ({@link SharedPacks}).
   *
   * @param name one or two segments joined by {@code /}, each 1 to 160 characters from {@code
   *     A-Z a-z 0-9 . _ -} starting with a letter or digit, without {@code ..}
   * @throws IllegalArgumentException for any other name
   */
  void putShared(String name, byte[] bytes) throws IOException;

  /** Whether the shared object {@code name} exists. */
  boolean sharedExists(String name) throws IOException;

  /**
   * Opens {@code length} bytes of the shared object {@code name} from {@code offset}.
   *
   * @throws ImageNotFoundException if the object does not exist
   * @throws IOException if it ends before {@code offset + length}
   */
  InputStream openSharedRange(String name, long offset, long length) throws IOException;

  /**
   * The shared objects whose names start with {@code prefix} (possibly empty), each with the time
   * it was last written, by name. A name found has the form {@link #putShared} accepts.
   */
  java.util.SortedMap<String, java.time.Instant> listShared(String prefix) throws IOException;

  /** Deletes the shared object {@code name}. Deleting what is gone is no error. */
  void deleteShared(String name) throws IOException;

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
