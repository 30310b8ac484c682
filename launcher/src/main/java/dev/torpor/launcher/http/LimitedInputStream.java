package dev.torpor.launcher.http;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Passes at most {@code limit} bytes through and fails, instead of reading on, if there are more. */
final class LimitedInputStream extends FilterInputStream {
  /** Thrown by a read past the limit; the stream stays failed. */
  static final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    TooLargeException(long limit) {
      super("the body is larger than " + limit + " bytes");
    }
  }

  private final long limit;
  private long count;
  private boolean exceeded;

  LimitedInputStream(InputStream in, long limit) {
    super(in);
    this.limit = limit;
  }

  /** Whether a read found more than {@code limit} bytes. */
  boolean exceeded() {
    return exceeded;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (exceeded) {
      throw new TooLargeException(limit);
    }
    if (len == 0) {
      return 0;
    }
    if (count >= limit) {
      if (in.read() < 0) {
        return -1;
      }
      exceeded = true;
      throw new TooLargeException(limit);
    }
    int n = in.read(b, off, (int) Math.min(len, limit - count));
    if (n > 0) {
      count += n;
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    byte[] buf = new byte[8192];
    long skipped = 0;
    while (skipped < n) {
      int r = read(buf, 0, (int) Math.min(buf.length, n - skipped));
      if (r < 0) {
        break;
      }
      skipped += r;
    }
    return skipped;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  @Override
  public synchronized void mark(int readlimit) {
    // Not supported (markSupported() is false): a reset could replay bytes past the count.
  }

  @Override
  public synchronized void reset() throws IOException {
    throw new IOException("mark/reset is not supported");
  }
}
