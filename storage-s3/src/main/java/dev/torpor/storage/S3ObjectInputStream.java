package dev.torpor.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The body of one GetObject: SDK errors while reading become IOExceptions naming the object, and
 * closing it before its end aborts the connection rather than reading the rest.
 */
final class S3ObjectInputStream extends FilterInputStream {
  private final ResponseInputStream<?> response;
  private final String what;
  private boolean atEnd;
  private boolean closed;

  S3ObjectInputStream(ResponseInputStream<?> response, String what) {
    super(response);
    this.response = response;
    this.what = what;
  }

  @Override
  public int read() throws IOException {
    checkOpen();
    try {
      int b = super.read();
      atEnd |= b < 0;
      return b;
    } catch (SdkException e) {
      throw new IOException("cannot read " + what + ": " + S3Errors.reason(e), e);
    }
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    checkOpen();
    try {
      int n = super.read(b, off, len);
      atEnd |= n < 0;
      return n;
    } catch (SdkException e) {
      throw new IOException("cannot read " + what + ": " + S3Errors.reason(e), e);
    }
  }

  @Override
  public long skip(long n) throws IOException {
    checkOpen();
    return super.skip(n);
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("the stream of " + what + " is closed");
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (!atEnd) {
      response.abort(); // else closing would read (and discard) the rest of the object
    }
    super.close();
  }
}
