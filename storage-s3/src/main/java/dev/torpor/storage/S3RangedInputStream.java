package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The data of a large image, fetched as ranged GETs of one part size each, up to {@code
 * parallelism} ranges ahead of the reader, and delivered in order. Every range is pinned to the
 * object's ETag, so an image replaced while it is read fails instead of mixing two images. A
 * range whose body breaks off is requested again from where it broke, up to {@code maxAttempts}
 * times. Closing the stream aborts the ranges in flight. Read by one thread.
 */
final class S3RangedInputStream extends InputStream {
  private static final System.Logger LOG = System.getLogger(S3RangedInputStream.class.getName());

  private final S3ImageStore store;
  private final ImageKey key;
  private final String objectKey;
  private final long size;
  private final String eTag;
  private final int partSize;
  private final int ahead;
  private final int attempts;
  private final Deque<Future<byte[]>> fetches = new ArrayDeque<>();
  /** The bodies being read by fetch tasks, aborted by {@link #close()}. */
  private final Set<ResponseInputStream<?>> bodies = ConcurrentHashMap.newKeySet();
  private long nextRange;
  private byte[] current = new byte[0];
  private int position;
  private volatile boolean closed;

  S3RangedInputStream(S3ImageStore store, ImageKey key, String objectKey, long size, String eTag) {
    this.store = store;
    this.key = key;
    this.objectKey = objectKey;
    this.size = size;
    this.eTag = eTag;
    this.partSize = store.config().partSize();
    this.ahead = store.config().parallelism();
    this.attempts = store.config().maxAttempts();
  }

  @Override
  public int read() throws IOException {
    if (!ensureBytes()) {
      return -1;
    }
    return current[position++] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    if (!ensureBytes()) {
      return -1;
    }
    int n = Math.min(len, current.length - position);
    System.arraycopy(current, position, b, off, n);
    position += n;
    return n;
  }

  @Override
  public int available() {
    return current.length - position;
  }

  /** Makes {@link #current} hold unread bytes; false at the end of the data. */
  private boolean ensureBytes() throws IOException {
    if (closed) {
      throw new IOException("the stream of image " + key + " is closed");
    }
    while (position == current.length) {
      scheduleAhead();
      Future<byte[]> next = fetches.poll();
      if (next == null) {
        return false;
      }
      current = await(next);
      position = 0;
      scheduleAhead();
    }
    return true;
  }

  private void scheduleAhead() throws IOException {
    while (fetches.size() < ahead && nextRange < size) {
      long start = nextRange;
      int length = (int) Math.min(partSize, size - start);
      nextRange += length;
      try {
        fetches.add(store.transfers().submit(() -> fetch(start, length)));
      } catch (RejectedExecutionException e) {
        throw new IOException("cannot read image " + key + ": " + store.describe() + " is closed", e);
      }
    }
  }

  private byte[] await(Future<byte[]> fetch) throws IOException {
    try {
      return fetch.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new InterruptedIOException("interrupted while reading image " + key);
    } catch (CancellationException e) {
      throw new IOException("the read of image " + key + " was cancelled", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw new IOException(io.getMessage(), io);
      }
      throw new IOException("cannot read image " + key + ": " + cause, cause);
    }
  }

  /** Reads the bytes {@code [start, start + length)}, requesting again what a broken body lost. */
  private byte[] fetch(long start, int length) throws IOException {
    byte[] range = new byte[length];
    int got = 0;
    int attempt = 0;
    store.stats.rangeStarted();
    try {
      while (got < length) {
        if (closed) {
          throw new IOException("the stream of image " + key + " was closed");
        }
        attempt++;
        String bytes = "bytes=" + (start + got) + "-" + (start + length - 1);
        ResponseInputStream<?> body;
        try {
          body = open(bytes);
        } catch (SdkClientException e) {
          giveUpAfter(attempt, bytes, e);
          continue;
        }
        bodies.add(body);
        try (body) {
          got += body.readNBytes(range, got, length - got);
          if (got < length) {
            throw new IOException("the body ended early, at byte " + (start + got) + " of " + size);
          }
        } catch (IOException | SdkClientException e) {
          giveUpAfter(attempt, bytes, e);
        } finally {
          bodies.remove(body);
        }
      }
      return range;
    } finally {
      store.stats.rangeEnded();
    }
  }

  /** Throws unless a broken range may be requested again. */
  private void giveUpAfter(int attempt, String bytes, Exception e) throws IOException {
    if (closed || attempt >= attempts) {
      throw new IOException(
          "cannot read " + bytes + " of image " + key + " at " + store.url(objectKey) + " after "
              + attempt + (attempt == 1 ? " attempt: " : " attempts: ") + describe(e),
          e);
    }
    LOG.log(System.Logger.Level.DEBUG, "requesting {0} of image {1} again: {2}", bytes, key, e);
  }

  private ResponseInputStream<?> open(String bytes) throws IOException {
    try {
      return store.client().getObject(
          b -> b.bucket(store.config().bucket()).key(objectKey).range(bytes).ifMatch(eTag));
    } catch (SdkException e) {
      int status = S3Errors.status(e);
      if (status == 412 || status == 404) {
        throw new IOException(
            "image " + key + " at " + store.url(objectKey) + " was deleted or replaced while it"
                + " was read (" + S3Errors.reason(e) + "); read it again",
            e);
      }
      if (e instanceof SdkClientException client) {
        throw client; // no answer from the server, after the SDK's retries: worth another attempt
      }
      throw S3Errors.io("read " + bytes + " of image " + key, store.url(objectKey), e);
    }
  }

  private static String describe(Exception e) {
    return e instanceof SdkException sdk ? S3Errors.reason(sdk) : String.valueOf(e.getMessage());
  }

  /** Stops the fetches: bodies being read are aborted, ranges not yet started are dropped. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Future<byte[]> fetch : fetches) {
      fetch.cancel(false);
    }
    fetches.clear();
    for (ResponseInputStream<?> body : bodies) {
      body.abort();
    }
    current = new byte[0];
    position = 0;
  }
}
