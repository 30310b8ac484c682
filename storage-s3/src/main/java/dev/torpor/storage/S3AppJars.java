package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * The application jars of an {@link S3ImageStore}, at {@code <prefix>/apps/<sha256>.jar}: each is
 * written with one PutObject (jars are small) with {@code If-None-Match: *}, so a stored jar is
 * never replaced, and read back with one streamed GetObject.
 */
final class S3AppJars {
  private final S3ImageStore store;

  S3AppJars(S3ImageStore store) {
    this.store = store;
  }

  /** See {@link ImageStore#putApp}: a HEAD first, then a PutObject of the file if needed. */
  void put(String sha256, Path jar) throws IOException {
    String objectKey = store.config().objectKey(AppJars.key(sha256));
    Objects.requireNonNull(jar, "jar");
    if (isStored(sha256, objectKey)) {
      return;
    }
    PutObjectRequest put =
        store.putRequest(objectKey, AppJars.CONTENT_TYPE).toBuilder().ifNoneMatch("*").build();
    try (CheckedBody body = new CheckedBody(jar, sha256)) {
      try {
        store.client().putObject(
            put, RequestBody.fromContentProvider(body, body.size, AppJars.CONTENT_TYPE));
      } catch (SdkException e) {
        body.throwIfRefused(e);
        if (S3Errors.status(e) == 412) {
          return; // stored by another put since the HEAD (or by an attempt whose answer was lost)
        }
        throw S3Errors.io("store application jar " + sha256, store.url(objectKey), e);
      } catch (RuntimeException e) { // from a stream of the body, let through by the SDK
        body.throwIfRefused(e);
        throw e;
      }
    }
  }

  /** See {@link ImageStore#fetchApp}: one GetObject, streamed to a temp file beside the target. */
  void fetch(String sha256, Path target) throws IOException {
    String objectKey = store.config().objectKey(AppJars.key(sha256));
    Objects.requireNonNull(target, "target");
    ResponseInputStream<GetObjectResponse> response;
    try {
      response = store.client().getObject(b -> b.bucket(store.config().bucket()).key(objectKey));
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        throw ImageNotFoundException.ofApp(sha256, store.describe());
      }
      throw S3Errors.io("read application jar " + sha256, store.url(objectKey), e);
    }
    String where = store.url(objectKey);
    String what = "application jar " + sha256 + " at " + where;
    try (InputStream in = new S3ObjectInputStream(response, what)) {
      AppJars.copyChecked(in, sha256, target, where);
    }
  }

  private boolean isStored(String sha256, String objectKey) throws IOException {
    try {
      store.client().headObject(b -> b.bucket(store.config().bucket()).key(objectKey));
      return true;
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        return false;
      }
      throw S3Errors.io(
          "check whether application jar " + sha256 + " is stored", store.url(objectKey), e);
    }
  }

  /**
   * The body of the PutObject: each attempt reads the file afresh, hashed, and fails before its
   * last bytes are sent if the hash is wrong. The streams are kept, to find a refusal whatever the
   * SDK wraps it in, and to close them.
   */
  private static final class CheckedBody implements ContentStreamProvider, AutoCloseable {
    private final Path jar;
    private final String sha256;
    private final long size;
    private final Queue<AppJars.CheckedJar> opened = new ConcurrentLinkedQueue<>();

    CheckedBody(Path jar, String sha256) throws IOException {
      this.jar = jar;
      this.sha256 = sha256;
      this.size = Files.size(jar);
      if (size == 0) { // the SDK may never read an empty body: check it here
        try (InputStream in = AppJars.open(jar, sha256, 0)) {
          in.transferTo(OutputStream.nullOutputStream());
        }
      }
    }

    @Override
    public InputStream newStream() {
      try {
        AppJars.CheckedJar stream = AppJars.open(jar, sha256, size);
        opened.add(stream);
        return stream;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open the application jar " + jar, e);
      }
    }

    /** Throws the refusal of the jar, if a stream found its hash wrong, with {@code e} suppressed. */
    void throwIfRefused(Exception e) {
      for (AppJars.CheckedJar stream : opened) {
        IllegalArgumentException refusal = stream.refusal();
        if (refusal != null) {
          if (refusal != e) {
            refusal.addSuppressed(e);
          }
          throw refusal;
        }
      }
    }

    @Override
    public void close() throws IOException {
      IOException failure = null;
      for (AppJars.CheckedJar stream : opened) {
        try {
          stream.close();
        } catch (IOException e) {
          if (failure == null) {
            failure = e;
          } else {
            failure.addSuppressed(e);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    }
  }
}
