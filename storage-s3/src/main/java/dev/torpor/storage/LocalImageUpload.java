package dev.torpor.storage;

import dev.torpor.storage.UploadChecks.State;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One image being written to a {@link LocalDirectoryImageStore}: the data goes to a temp file in
 * the store's {@code .tmp} folder until {@link #commit} hands it to the store, which moves it
 * into place and writes the manifest last.
 */
final class LocalImageUpload implements ImageUpload {
  private static final System.Logger LOG = System.getLogger(LocalImageUpload.class.getName());

  private final LocalDirectoryImageStore store;
  private final ImageKey key;
  private final Path temp;
  private final FileChannel channel;
  private final OutputStream buffered;
  private final OutputStream data = new DataStream();
  /** Bytes written so far; the upload's writer is a single thread. */
  private long written;
  /** Changed under {@code this}; volatile so the data stream sees a commit or an abort. */
  private volatile State state = State.OPEN;

  /** Takes ownership of {@code temp}, deleting it if the upload cannot start. */
  static LocalImageUpload start(LocalDirectoryImageStore store, ImageKey key, Path temp)
      throws IOException {
    FileChannel channel;
    try {
      channel = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(temp, e);
      throw e;
    }
    return new LocalImageUpload(store, key, temp, channel);
  }

  private LocalImageUpload(
      LocalDirectoryImageStore store, ImageKey key, Path temp, FileChannel channel) {
    this.store = store;
    this.key = key;
    this.temp = temp;
    this.channel = channel;
    this.buffered = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
  }

  @Override
  public OutputStream data() {
    return data;
  }

  @Override
  public synchronized void commit(ImageManifest manifest) throws IOException {
    checkCommittable();
    UploadChecks.checkManifest(key, manifest, written);
    state = State.FAILED; // one attempt: until it succeeds, a failure discards the upload
    try {
      buffered.flush();
      channel.force(true);
      channel.close();
      store.publish(key, temp, manifest);
      state = State.COMMITTED;
    } catch (IOException | RuntimeException e) {
      discard(e);
      throw e;
    }
  }

  @Override
  public synchronized void close() {
    if (state == State.OPEN) {
      state = State.ABORTED;
      discard(null);
    }
  }

  private void checkCommittable() {
    if (state != State.OPEN) {
      throw UploadChecks.notCommittable(key, state);
    }
  }

  /** Closes and deletes the temp file; problems are logged, added to {@code failure} if any. */
  private void discard(Exception failure) {
    try {
      channel.close();
    } catch (IOException e) {
      report(failure, e);
    }
    deleteQuietly(temp, failure);
  }

  private static void deleteQuietly(Path file, Exception failure) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      report(failure, e);
    }
  }

  private static void report(Exception failure, IOException problem) {
    if (failure != null) {
      failure.addSuppressed(problem);
    } else {
      LOG.log(System.Logger.Level.WARNING, "cannot clean up an aborted image upload", problem);
    }
  }

  private void checkWritable() throws IOException {
    if (state != State.OPEN) {
      throw new IOException(
          "the upload of image " + key + " is " + state.name().toLowerCase()
              + "; no more data can be written to it");
    }
  }

  /** The caller's view of the data: closing it only flushes; the upload owns the file. */
  private final class DataStream extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      checkWritable();
      buffered.write(b);
      written++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      checkWritable();
      buffered.write(b, off, len);
      written += len;
    }

    @Override
    public void flush() throws IOException {
      checkWritable();
      buffered.flush();
    }

    @Override
    public void close() throws IOException {
      if (state == State.OPEN) {
        buffered.flush();
      }
    }
  }
}
