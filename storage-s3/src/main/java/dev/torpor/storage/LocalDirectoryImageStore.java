package dev.torpor.storage;

import dev.torpor.WorkflowId;
import java.io.IOException;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.nio.channels.Channels;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An {@link ImageStore} in a local directory, the embedded default. Objects have the same names
 * as in S3 ({@link ImageKey}), under {@code root}: images in {@code root/images}, application jars
 * in {@code root/apps}, shared objects in {@code root/shared}; temp files live in {@code
 * root/.tmp}, on the same file system, so they can be renamed into place.
 *
 * <p>A commit fsyncs the data, renames it into place and fsyncs its directory; only then does it
 * write the manifest to a temp file, fsync it, rename it into place and fsync the directory
 * again. Whenever a crash happens, a manifest never exists without its complete data, and data
 * without a manifest is invisible. Temp files of a crashed writer are invisible too, and are
 * removed when a store opens once they are older than {@link #DEFAULT_STALE_TEMP_AGE}.
 *
 * <p>Thread-safe; uploads of different keys run in parallel. A directory belongs to one process:
 * two processes writing the same key into one directory are not guarded against.
 */
public final class LocalDirectoryImageStore implements ImageStore {
  /** Temp files older than this are a crashed writer's and are removed when a store opens. */
  public static final Duration DEFAULT_STALE_TEMP_AGE = Duration.ofHours(1);

  /** The folder under the root for files being written; never a valid workflow folder. */
  static final String TMP_DIR = ".tmp";

  /** The folder under the root holding every workflow's folder. */
  private static final String IMAGES_DIR = "images";

  private static final System.Logger LOG =
      System.getLogger(LocalDirectoryImageStore.class.getName());
  private static final int LOCK_STRIPES = 64;

  private final Path root;
  private final Path tmp;
  /** Serialize publishing and deleting one key; stripes keep unrelated keys mostly apart. */
  private final Object[] locks = new Object[LOCK_STRIPES];
  /** Directories that exist and whose entry in their parent this store has made durable. */
  private final Set<Path> durableDirs = ConcurrentHashMap.newKeySet();

  /**
   * Opens (creating it if needed) a store in {@code root}, removing temp files older than {@link
   * #DEFAULT_STALE_TEMP_AGE}.
   *
   * @throws IOException if the root cannot be created or is not a directory
   */
  public LocalDirectoryImageStore(Path root) throws IOException {
    this(root, DEFAULT_STALE_TEMP_AGE);
  }

  /**
   * Opens (creating it if needed) a store in {@code root}, removing temp files older than {@code
   * staleTempAge}: those of a crashed writer. Keep the age well above the longest upload.
   *
   * @throws IOException if the root cannot be created or is not a directory
   */
  public LocalDirectoryImageStore(Path root, Duration staleTempAge) throws IOException {
    Objects.requireNonNull(root, "root");
    if (staleTempAge == null || staleTempAge.isNegative()) {
      throw new IllegalArgumentException("staleTempAge must be >= 0, got " + staleTempAge);
    }
    this.root = root.toAbsolutePath().normalize();
    this.tmp = this.root.resolve(TMP_DIR);
    for (int i = 0; i < locks.length; i++) {
      locks[i] = new Object();
    }
    ensureDirectory(this.tmp);
    removeStaleTemps(staleTempAge);
  }

  /** The directory holding the store. */
  public Path root() {
    return root;
  }

  @Override
  public ImageUpload begin(ImageKey key) throws IOException {
    Objects.requireNonNull(key, "key");
    Path manifest = manifestPath(key);
    if (Files.exists(manifest)) {
      throw alreadyCommitted(key, manifest);
    }
    Path temp = Files.createTempFile(tmp, key.workflowId() + "-" + key.seq() + "-", ".data");
    return LocalImageUpload.start(this, key, temp);
  }

  @Override
  public Optional<ImageManifest> manifest(ImageKey key) throws IOException {
    Path path = manifestPath(key);
    byte[] json;
    try {
      json = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    ImageManifest manifest = ManifestJson.fromJson(json, path.toString());
    if (!manifest.workflowId().equals(key.workflowId()) || manifest.seq() != key.seq()) {
      throw new CorruptManifestException(
          path.toString(),
          "it describes image " + manifest.key() + ", not " + key
              + "; was it copied or renamed by hand? Delete image " + key);
    }
    return Optional.of(manifest);
  }

  @Override
  public InputStream openData(ImageKey key) throws IOException {
    Path manifest = manifestPath(key);
    if (!Files.exists(manifest)) {
      throw new ImageNotFoundException(key, describe());
    }
    Path data = dataPath(key);
    try {
      return Files.newInputStream(data);
    } catch (NoSuchFileException e) {
      if (!Files.exists(manifest)) {
        throw new ImageNotFoundException(key, describe()); // deleted since we looked
      }
      throw new IOException(
          "image " + key + " in " + describe() + " has a manifest but no data at " + data
              + ": the store was damaged (files removed by hand?); delete image " + key, e);
    }
  }

  @Override
  public List<Long> seqs(String workflowId) throws IOException {
    return seqsNamed(workflowId, ImageKey::seqOfManifestName);
  }

  /** The seqs in the workflow's folder that {@code parse} finds in a file name (-1: none), ascending. */
  private List<Long> seqsNamed(String workflowId, java.util.function.ToLongFunction<String> parse) throws IOException {
    Path dir = root.resolve(ImageKey.workflowPrefix(workflowId));
    List<Long> seqs = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        long seq = parse.applyAsLong(entry.getFileName().toString());
        if (seq > 0) {
          seqs.add(seq);
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    Collections.sort(seqs);
    return Collections.unmodifiableList(seqs);
  }

  @Override
  public List<String> workflowIds() throws IOException {
    List<String> ids = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root.resolve(IMAGES_DIR))) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (WorkflowId.isValid(name) && Files.isDirectory(entry) && !seqs(name).isEmpty()) {
          ids.add(name);
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    Collections.sort(ids);
    return Collections.unmodifiableList(ids);
  }


  @Override
  public InputStream openRange(ImageKey key, long offset, long length) throws IOException {
    return openRange(dataPath(key), offset, length, "the data object of image " + key,
        () -> new ImageNotFoundException(key, describe()));
  }

  /**
   * Opens {@code length} bytes of {@code file} from {@code offset}, {@code what} it is in messages.
   *
   * @throws ImageNotFoundException from {@code missing} if there is no such file
   * @throws IOException if the file ends before {@code offset + length}
   */
  private static InputStream openRange(Path file, long offset, long length, String what,
      java.util.function.Supplier<ImageNotFoundException> missing) throws IOException {
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw missing.get();
    }
    try {
      long size = channel.size();
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new IOException(what + " at " + file + " holds " + size
            + " bytes, so bytes " + offset + " to " + (offset + length) + " cannot be read: the store was damaged"
            + " (a file cut short?)");
      }
      return new BufferedInputStream(Channels.newInputStream(channel.position(offset)), 1 << 16) {
        private long left = length;

        @Override
        public synchronized int read() throws IOException {
          if (left <= 0) {
            return -1;
          }
          int b = super.read();
          if (b >= 0) {
            left--;
          }
          return b;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) throws IOException {
          if (left <= 0) {
            return -1;
          }
          int n = super.read(b, off, (int) Math.min(len, left));
          if (n > 0) {
            left -= n;
          }
          return n;
        }

        @Override
        public synchronized long skip(long n) throws IOException {
          long skipped = super.skip(Math.min(n, left));
          left -= skipped;
          return skipped;
        }

        @Override
        public synchronized int available() throws IOException {
          return (int) Math.min(super.available(), left);
        }

        @Override
        public boolean markSupported() {
          return false; // a reset would not give back the bytes counted off left
        }
      };
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  @Override
  public List<Long> dataSeqs(String workflowId) throws IOException {
    return seqsNamed(workflowId, ImageKey::seqOfDataName);
  }

  @Override
  public void deleteManifest(ImageKey key) throws IOException {
    Path manifest = manifestPath(key);
    synchronized (lockFor(key)) {
      if (Files.deleteIfExists(manifest)) {
        FileSync.fsyncDirectory(manifest.getParent()); // gone for good before any data goes
      }
    }
  }

  @Override
  public void deleteData(ImageKey key) throws IOException {
    synchronized (lockFor(key)) {
      Files.deleteIfExists(dataPath(key));
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The bytes are written to a temp file in {@code root/.tmp}, fsynced and renamed to {@code
   * root/shared/<name>}, replacing any file there; its directory is fsynced. Unlike in S3, a
   * name cannot be both an object and the folder of two-segment names: such a put fails.
   */
  @Override
  public void putShared(String name, byte[] bytes) throws IOException {
    Path stored = sharedPath(name);
    Objects.requireNonNull(bytes, "bytes");
    Path temp = Files.createTempFile(tmp, "shared-", ".tmp");
    try {
      FileSync.writeDurably(temp, bytes);
      synchronized (lockForShared(name)) { // a delete does not remove its folder meanwhile
        ensureDirectory(stored.getParent());
        Files.move(temp, stored, StandardCopyOption.ATOMIC_MOVE);
        FileSync.fsyncDirectory(stored.getParent());
      }
    } catch (IOException | RuntimeException e) {
      deleteAfterFailure(temp, e);
      throw e;
    }
  }

  @Override
  public boolean sharedExists(String name) throws IOException {
    return Files.isRegularFile(sharedPath(name));
  }

  @Override
  public InputStream openSharedRange(String name, long offset, long length) throws IOException {
    Path stored = sharedPath(name);
    if (Files.isDirectory(stored, LinkOption.NOFOLLOW_LINKS)) {
      throw ImageNotFoundException.ofShared(name, describe()); // a folder of two-segment names
    }
    return openRange(stored, offset, length, "the shared object " + name,
        () -> ImageNotFoundException.ofShared(name, describe()));
  }

  /**
   * {@inheritDoc}
   *
   * <p>Walks {@code root/shared} and its folders, one level deep; files and folders whose names are
   * not valid (none that the store writes) are left out.
   */
  @Override
  public SortedMap<String, Instant> listShared(String prefix) throws IOException {
    SharedNames.checkPrefix(prefix);
    Path shared = root.resolve(SharedNames.FOLDER);
    TreeMap<String, Instant> found = new TreeMap<>();
    int slash = prefix.indexOf('/');
    if (slash >= 0) { // only one folder can hold such names
      String folder = prefix.substring(0, slash);
      listSharedIn(shared.resolve(folder), folder + "/", prefix, found);
    } else {
      listSharedIn(shared, "", prefix, found);
    }
    return Collections.unmodifiableSortedMap(found);
  }

  /** Adds the shared objects in {@code dir}, and in its folders if its names have no folder yet. */
  private static void listSharedIn(Path dir, String namePrefix, String prefix, SortedMap<String, Instant> found)
      throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = namePrefix + entry.getFileName();
        if (!SharedNames.isValid(name)) {
          continue;
        }
        BasicFileAttributes attributes;
        try {
          attributes = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
          continue; // deleted since the listing
        }
        if (attributes.isRegularFile() && name.startsWith(prefix)) {
          found.put(name, attributes.lastModifiedTime().toInstant());
        } else if (attributes.isDirectory() && namePrefix.isEmpty() && (name + "/").startsWith(prefix)) {
          listSharedIn(entry, name + "/", prefix, found);
        }
      }
    } catch (NoSuchFileException | NotDirectoryException e) {
      // nothing shared yet, or the folder was removed since the listing
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The file of a two-segment name goes with its folder, once that is empty.
   */
  @Override
  public void deleteShared(String name) throws IOException {
    Path stored = sharedPath(name);
    Path dir = stored.getParent();
    synchronized (lockForShared(name)) {
      if (Files.isDirectory(stored, LinkOption.NOFOLLOW_LINKS) || !Files.deleteIfExists(stored)) {
        return; // a folder of two-segment names is no object
      }
      FileSync.fsyncDirectory(dir);
      if (name.indexOf('/') >= 0) {
        try {
          Files.delete(dir);
          durableDirs.remove(dir); // a later put creates it again
          FileSync.fsyncDirectory(dir.getParent());
        } catch (DirectoryNotEmptyException e) {
          // other objects are still in it (or were written meanwhile by another process): it stays
        } catch (NoSuchFileException e) {
          durableDirs.remove(dir); // removed by another process
        }
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The jar is copied to a temp file in {@code root/.tmp}, hashed, fsynced and renamed to
   * {@code root/apps/<sha256>.jar}; its directory is fsynced.
   */
  @Override
  public void putApp(String sha256, Path jar) throws IOException {
    Path stored = root.resolve(AppJars.key(sha256));
    Objects.requireNonNull(jar, "jar");
    if (Files.exists(stored)) {
      return;
    }
    ensureDirectory(stored.getParent());
    Path temp = Files.createTempFile(tmp, "app-" + sha256.substring(0, 16) + "-", ".jar");
    try {
      try (InputStream in = AppJars.open(jar, sha256)) {
        FileSync.copyDurably(in, temp); // throws before the end if the hash is wrong
      }
      // Replaces the same jar stored by a concurrent put, if any: it has the same bytes.
      Files.move(temp, stored, StandardCopyOption.ATOMIC_MOVE);
      FileSync.fsyncDirectory(stored.getParent());
    } catch (IOException | RuntimeException e) {
      deleteAfterFailure(temp, e);
      throw e;
    }
  }

  @Override
  public void fetchApp(String sha256, Path target) throws IOException {
    Path stored = root.resolve(AppJars.key(sha256));
    Objects.requireNonNull(target, "target");
    InputStream in;
    try {
      in = Files.newInputStream(stored);
    } catch (NoSuchFileException e) {
      throw ImageNotFoundException.ofApp(sha256, describe());
    }
    try (in) {
      AppJars.copyChecked(in, sha256, target, stored.toString());
    }
  }

  @Override
  public String describe() {
    return "local:" + root;
  }

  @Override
  public String toString() {
    return describe();
  }

  /**
   * Publishes a written upload: moves its durable temp data into place, then writes the manifest.
   * If this throws before the manifest is in place, the data is removed again. If only the last
   * fsync fails, the image is visible but may not survive a crash.
   */
  void publish(ImageKey key, Path tempData, ImageManifest manifest) throws IOException {
    Path data = dataPath(key);
    Path manifestPath = manifestPath(key);
    byte[] json = ManifestJson.toJson(manifest);
    ensureDirectory(data.getParent());
    synchronized (lockFor(key)) {
      if (Files.exists(manifestPath)) {
        throw alreadyCommitted(key, manifestPath); // committed by another upload since begin
      }
      // Replaces the data of an earlier writer that crashed before its manifest, if any.
      Files.move(tempData, data, StandardCopyOption.ATOMIC_MOVE);
      Path tempManifest = null;
      boolean published = false;
      try {
        FileSync.fsyncDirectory(data.getParent());
        tempManifest =
            Files.createTempFile(tmp, key.workflowId() + "-" + key.seq() + "-", ".manifest");
        FileSync.writeDurably(tempManifest, json);
        Files.move(tempManifest, manifestPath, StandardCopyOption.ATOMIC_MOVE);
        published = true;
        FileSync.fsyncDirectory(manifestPath.getParent());
      } catch (IOException | RuntimeException e) {
        if (!published) {
          deleteAfterFailure(tempManifest, e);
          deleteAfterFailure(data, e);
        }
        throw e;
      }
    }
  }

  private Path dataPath(ImageKey key) {
    return root.resolve(key.dataKey());
  }

  private Path manifestPath(ImageKey key) {
    return root.resolve(key.manifestKey());
  }

  private Object lockFor(ImageKey key) {
    return locks[Math.floorMod(key.hashCode(), LOCK_STRIPES)];
  }

  /**
   * The file of the shared object {@code name}.
   *
   * @throws IllegalArgumentException naming the name and the rule if it is not valid
   */
  private Path sharedPath(String name) {
    return root.resolve(SharedNames.key(name));
  }

  /** Serializes the writes and deletes of shared objects in one folder (and some others). */
  private Object lockForShared(String name) {
    int slash = name.indexOf('/');
    String folder = slash < 0 ? "" : name.substring(0, slash);
    return locks[Math.floorMod(folder.hashCode(), LOCK_STRIPES)];
  }

  private FileAlreadyExistsException alreadyCommitted(ImageKey key, Path manifest) {
    return new FileAlreadyExistsException(
        manifest.toString(),
        null,
        "image " + key + " is already committed in " + describe()
            + "; images are immutable: delete it first or write the next seq");
  }

  /**
   * Creates {@code dir} (the root or a folder under it) if needed and makes its entry in its
   * parent durable, once per store: a folder created by a crashed process may not be durable yet.
   */
  private void ensureDirectory(Path dir) throws IOException {
    if (durableDirs.contains(dir)) {
      return;
    }
    boolean created;
    if (dir.equals(root)) {
      created = !Files.isDirectory(root);
      if (created) {
        Files.createDirectories(root);
      }
    } else {
      ensureDirectory(dir.getParent());
      created = createDirectory(dir);
    }
    if (created || !dir.equals(root)) {
      FileSync.fsyncDirectory(dir.getParent());
    }
    durableDirs.add(dir);
  }

  private static boolean createDirectory(Path dir) throws IOException {
    try {
      Files.createDirectory(dir);
      return true;
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw new NotDirectoryException(dir + " (a file is in the way of the store's folder)");
      }
      return false; // created by a concurrent writer or an earlier run
    }
  }

  private void removeStaleTemps(Duration maxAge) {
    Instant cutoff = Instant.now().minus(maxAge);
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp)) {
      for (Path entry : entries) {
        removeIfStale(entry, cutoff);
      }
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "cannot list temp files in " + tmp, e);
    }
  }

  private static void removeIfStale(Path file, Instant cutoff) {
    try {
      if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
          && Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
        Files.deleteIfExists(file);
        LOG.log(System.Logger.Level.INFO, "removed the stale temp file {0} of a crashed writer", file);
      }
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "cannot remove the stale temp file " + file, e);
    }
  }

  private static void deleteAfterFailure(Path file, Exception failure) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
  }
}
