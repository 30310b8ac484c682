package dev.torpor.storage;

import dev.torpor.storage.UploadChecks.State;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * One image being written to an {@link S3ImageStore}, streamed from memory. The data is buffered
 * up to one part; if the image ends within it, the commit writes it with one PutObject. Once a
 * part is full and more data comes, a multipart upload starts and each full part is uploaded on
 * the store's transfer threads while the writer fills the next; the writer waits while {@code
 * parallelism} parts are in flight, so at most {@code parallelism + 1} parts are in memory.
 *
 * <p>The commit completes the data (CompleteMultipartUpload or PutObject), then writes the
 * manifest. A failure discards the upload: the multipart upload is aborted, a data object written
 * without its manifest deleted. Written by one thread.
 */
final class S3ImageUpload implements ImageUpload {
  private static final System.Logger LOG = System.getLogger(S3ImageUpload.class.getName());
  private static final String DATA_TYPE = "application/octet-stream";
  private static final int FIRST_BUFFER = 64 * 1024;
  /** S3's limit on the parts of one multipart upload. */
  private static final int MAX_PARTS = 10_000;
  /** How long an abort waits for the parts in flight before it aborts the multipart upload. */
  private static final long SETTLE_SECONDS = 60;

  private final S3ImageStore store;
  private final ImageKey key;
  private final String bucket;
  private final String dataKey;
  private final int partSize;
  private final int parallelism;
  /** One permit per part that may be in flight. */
  private final Semaphore slots;
  private final OutputStream data = new DataStream();
  private final List<Future<CompletedPart>> parts = new ArrayList<>();
  /** The first part upload that failed; the writer throws it at its next write. */
  private final AtomicReference<IOException> partFailure = new AtomicReference<>();
  private byte[] buffer = new byte[0];
  private int filled;
  private long written;
  /** Set once the multipart upload starts; read by transfer threads after their submit. */
  private String uploadId;
  private boolean multipartCompleted;
  /** Changed under {@code this}; volatile so the data stream sees a commit or an abort. */
  private volatile State state = State.OPEN;
  /** Tells parts not yet started not to start. */
  private volatile boolean cancelled;

  S3ImageUpload(S3ImageStore store, ImageKey key) {
    this.store = store;
    this.key = key;
    this.bucket = store.config().bucket();
    this.dataKey = store.config().objectKey(key.dataKey());
    this.partSize = store.config().partSize();
    this.parallelism = store.config().parallelism();
    this.slots = new Semaphore(parallelism);
  }

  @Override
  public OutputStream data() {
    return data;
  }

  @Override
  public synchronized void commit(ImageManifest manifest) throws IOException {
    if (state != State.OPEN) {
      throw UploadChecks.notCommittable(key, state);
    }
    UploadChecks.checkManifest(key, manifest, written);
    byte[] json = ManifestJson.toJson(manifest);
    state = State.FAILED; // one attempt: until it succeeds, a failure discards the upload
    boolean dataMayExist = false;
    try {
      List<CompletedPart> completed = uploadId == null ? null : finishParts();
      synchronized (store.commitLock(key)) {
        if (store.isCommitted(key)) {
          throw store.alreadyCommitted(key); // committed by another upload since begin
        }
        dataMayExist = true;
        if (uploadId == null) {
          putWhole();
        } else {
          completeMultipart(completed);
        }
        putManifest(json);
      }
      state = State.COMMITTED;
      buffer = null;
    } catch (IOException | RuntimeException e) {
      discard(e, dataMayExist);
      throw e;
    }
  }

  @Override
  public synchronized void close() {
    if (state == State.OPEN) {
      state = State.ABORTED;
      discard(null, false);
    }
  }

  private void putWhole() throws IOException {
    byte[] bytes = buffer;
    int length = filled;
    try {
      store.client().putObject(store.putRequest(dataKey, DATA_TYPE), body(bytes, length));
    } catch (SdkException e) {
      throw S3Errors.io("write the data of image " + key, store.url(dataKey), e);
    }
  }

  /** Sends the last part and waits for every part; returns them in order. */
  private List<CompletedPart> finishParts() throws IOException {
    sendPart(true);
    List<CompletedPart> completed = new ArrayList<>(parts.size());
    for (Future<CompletedPart> part : parts) {
      try {
        completed.add(part.get());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while uploading image " + key);
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        throw cause instanceof IOException io
            ? new IOException(io.getMessage(), io)
            : new IOException("cannot upload a part of image " + key + ": " + cause, cause);
      }
    }
    return completed;
  }

  private void completeMultipart(List<CompletedPart> completed) throws IOException {
    try {
      store.client().completeMultipartUpload(
          b -> b.bucket(bucket).key(dataKey).uploadId(uploadId).multipartUpload(m -> m.parts(completed)));
      multipartCompleted = true;
    } catch (SdkException e) {
      throw S3Errors.io(
          "complete the multipart upload of image " + key + " (" + completed.size() + " parts)",
          store.url(dataKey),
          e);
    }
  }

  /**
   * Writes the manifest, only if there is none ({@code If-None-Match: *}). If the write fails but
   * the stored manifest is this one (an attempt whose answer was lost did write it), the commit
   * succeeded.
   */
  private void putManifest(byte[] json) throws IOException {
    String manifestKey = store.config().objectKey(key.manifestKey());
    PutObjectRequest put =
        store.putRequest(manifestKey, "application/json").toBuilder().ifNoneMatch("*").build();
    try {
      store.client().putObject(put, RequestBody.fromBytes(json));
    } catch (SdkException e) {
      if (storedManifestIs(manifestKey, json, e)) {
        return;
      }
      if (S3Errors.status(e) == 412) {
        throw store.alreadyCommitted(key); // by another process, since our check
      }
      throw S3Errors.io("write the manifest of image " + key, store.url(manifestKey), e);
    }
  }

  private boolean storedManifestIs(String manifestKey, byte[] json, SdkException failure) {
    try {
      byte[] stored =
          store.client().getObjectAsBytes(b -> b.bucket(bucket).key(manifestKey)).asByteArray();
      return Arrays.equals(stored, json);
    } catch (SdkException e) {
      if (!S3Errors.isNotFound(e)) {
        failure.addSuppressed(e);
      }
      return false;
    }
  }

  /** Uploads the buffer as the next part, starting the multipart upload first if needed. */
  private void sendPart(boolean last) throws IOException {
    if (uploadId == null) {
      startMultipart();
    }
    int number = parts.size() + 1;
    if (number > MAX_PARTS) {
      throw new IOException(
          "image " + key + " is larger than S3's " + MAX_PARTS + " parts of " + partSize
              + " bytes: raise the store's partSize");
    }
    try {
      slots.acquire(); // waits while `parallelism` parts are in flight
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting to upload a part of image " + key);
    }
    byte[] part = buffer;
    int length = filled;
    try {
      checkWritable(last);
      parts.add(store.transfers().submit(() -> uploadPart(number, part, length)));
    } catch (IOException | RuntimeException e) {
      slots.release();
      if (e instanceof RejectedExecutionException) {
        throw new IOException("cannot upload image " + key + ": " + store.describe() + " is closed", e);
      }
      throw e;
    }
    buffer = last ? new byte[0] : new byte[partSize];
    filled = 0;
  }

  private void startMultipart() throws IOException {
    try {
      uploadId =
          store.client().createMultipartUpload(store.multipartRequest(dataKey, DATA_TYPE)).uploadId();
      store.stats.multipartUploads.incrementAndGet();
    } catch (SdkException e) {
      throw S3Errors.io("start the multipart upload of image " + key, store.url(dataKey), e);
    }
  }

  /** Runs on a transfer thread; holds one of the {@link #slots}. */
  private CompletedPart uploadPart(int number, byte[] part, int length) throws IOException {
    try {
      if (cancelled) {
        throw new IOException("the upload of image " + key + " was discarded");
      }
      store.stats.partStarted();
      try {
        String eTag =
            store.client()
                .uploadPart(
                    b -> b.bucket(bucket).key(dataKey).uploadId(uploadId).partNumber(number),
                    body(part, length))
                .eTag();
        store.stats.partsUploaded.incrementAndGet();
        return CompletedPart.builder().partNumber(number).eTag(eTag).build();
      } finally {
        store.stats.partEnded();
      }
    } catch (SdkException e) {
      IOException failure =
          S3Errors.io("upload part " + number + " of image " + key, store.url(dataKey), e);
      partFailure.compareAndSet(null, failure);
      throw failure;
    } catch (IOException | RuntimeException e) {
      partFailure.compareAndSet(null, e instanceof IOException io ? io : new IOException(e));
      throw e;
    } finally {
      slots.release();
    }
  }

  private static RequestBody body(byte[] bytes, int length) {
    return RequestBody.fromContentProvider(
        () -> new ByteArrayInputStream(bytes, 0, length), length, DATA_TYPE);
  }

  /**
   * Stops the parts in flight (waiting for them, up to a minute), aborts the multipart upload,
   * and deletes the data object if one may have been written and no manifest is stored. Problems
   * are added to {@code failure}, or logged if there is none: this never throws.
   */
  private void discard(Exception failure, boolean dataMayExist) {
    cancelled = true;
    buffer = null;
    boolean interrupted = Thread.interrupted(); // clean up anyway; the flag is set again after
    try {
      awaitPartsInFlight();
      if (uploadId != null && !multipartCompleted) {
        abortMultipart();
      }
      if (dataMayExist && !store.isCommitted(key)) {
        store.client().deleteObject(b -> b.bucket(bucket).key(dataKey));
      }
    } catch (IOException | RuntimeException e) {
      if (failure != null) {
        failure.addSuppressed(e);
      } else {
        LOG.log(
            System.Logger.Level.WARNING,
            "cannot clean up the aborted upload of image " + key + " in " + store.describe()
                + "; a lifecycle rule for incomplete multipart uploads removes what is left",
            e);
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void abortMultipart() {
    try {
      store.client().abortMultipartUpload(b -> b.bucket(bucket).key(dataKey).uploadId(uploadId));
    } catch (SdkException e) {
      if (!S3Errors.isNotFound(e)) { // NoSuchUpload: already aborted or completed
        throw e;
      }
    }
  }

  private void awaitPartsInFlight() {
    try {
      if (slots.tryAcquire(parallelism, SETTLE_SECONDS, TimeUnit.SECONDS)) {
        slots.release(parallelism);
      } else {
        LOG.log(
            System.Logger.Level.WARNING,
            "parts of image {0} are still uploading after {1} s; aborting the upload anyway",
            key,
            SETTLE_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // the abort is tried at once; discard clears the flag
    }
  }

  /** Throws unless more data may be written: the upload is open and no part has failed. */
  private void checkWritable(boolean committing) throws IOException {
    if (state != State.OPEN && !(committing && state == State.FAILED)) {
      throw new IOException(
          "the upload of image " + key + " is " + state.name().toLowerCase(Locale.ROOT)
              + "; no more data can be written to it");
    }
    IOException failure = partFailure.get();
    if (failure != null) {
      throw new IOException(failure.getMessage(), failure);
    }
  }

  /** The caller's view of the data: closing it only flushes; the upload owns the buffers. */
  private final class DataStream extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      if (state == State.OPEN && filled < buffer.length && partFailure.get() == null) {
        buffer[filled++] = (byte) b;
        written++;
        return;
      }
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      checkWritable(false);
      while (len > 0) {
        if (filled == partSize) {
          sendPart(false);
        }
        if (filled == buffer.length) {
          buffer = Arrays.copyOf(buffer, Math.min(partSize, Math.max(FIRST_BUFFER, 2 * buffer.length)));
        }
        int n = Math.min(len, buffer.length - filled);
        System.arraycopy(b, off, buffer, filled, n);
        filled += n;
        off += n;
        len -= n;
        written += n;
      }
    }

    @Override
    public void flush() throws IOException {
      checkWritable(false); // parts go as they fill; a flush makes nothing more durable
    }

    @Override
    public void close() {}
  }
}
