package dev.torpor.storage;

import dev.torpor.WorkflowId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * An {@link ImageStore} in an S3 bucket (or an S3-compatible server), on the AWS SDK's sync
 * client. Objects have the {@link ImageKey} layout under the configured prefix:
 * {@code <prefix>/images/<workflow>/<seq>.tar.zst} and the manifest beside it, written last;
 * application jars at {@code <prefix>/apps/<sha256>.jar}, each written once with one PutObject;
 * shared objects at {@code <prefix>/shared/<name>}, each written with one PutObject.
 *
 * <p>Uploads stream: the data is cut into parts of {@link S3StoreConfig#partSize()} held in
 * memory, never on disk; an image that fits in one part is written with one PutObject, a larger
 * one as a multipart upload with up to {@link S3StoreConfig#parallelism()} parts in flight, so an
 * upload holds at most {@code (parallelism + 1) * partSize} bytes. Large images are read back with
 * as many ranged GETs at once. Requests are retried by the SDK's standard strategy, with backoff
 * on throttling and 5xx errors.
 *
 * <p>An upload that fails or is closed without a commit aborts its multipart upload (or deletes
 * its data object). A process that dies mid-upload leaves an incomplete multipart upload behind,
 * invisible but billed: give the bucket a lifecycle rule that aborts incomplete multipart uploads
 * after a day. Two uploads of one key in this process commit at most once; uploads of one key by
 * two processes at once are not guarded against (the manifest is written with {@code
 * If-None-Match: *}, but the later data may replace the earlier), as in the local store.
 *
 * <p>Thread-safe. Close it to release its connections and threads.
 */
public final class S3ImageStore implements ImageStore {
  private static final int LOCK_STRIPES = 64;
  private static final String SHARED_TYPE = "application/octet-stream";

  private final S3StoreConfig config;
  private final S3Client s3;
  private final String where;
  private final ExecutorService transfers;
  private final Object[] commitLocks = new Object[LOCK_STRIPES];
  private final S3AppJars apps = new S3AppJars(this);
  final S3TransferStats stats = new S3TransferStats();

  private S3ImageStore(S3StoreConfig config, Region region, AwsCredentialsProvider credentials) {
    this.config = config;
    this.where = S3Clients.where(config, region);
    this.s3 = S3Clients.build(config, region, credentials);
    this.transfers = Executors.newCachedThreadPool(daemonThreads());
    for (int i = 0; i < commitLocks.length; i++) {
      commitLocks[i] = new Object();
    }
  }

  /**
   * Opens a store with credentials from the SDK's default chain (AWS_ACCESS_KEY_ID and
   * AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the instance or task role) and checks that it works.
   *
   * @throws IOException naming the bucket, the endpoint and the fix if the bucket is missing, the
   *     credentials are missing, rejected or read-only, the endpoint cannot be reached or the
   *     server-side encryption is refused
   */
  public static S3ImageStore open(S3StoreConfig config) throws IOException {
    return open(config, DefaultCredentialsProvider.builder().build());
  }

  /**
   * Opens a store with the given credentials (tests, embedding) and checks that it works: the
   * bucket exists and a small object can be written and deleted under the prefix.
   *
   * @throws IOException naming the bucket, the endpoint and the fix if the check fails
   */
  public static S3ImageStore open(S3StoreConfig config, AwsCredentialsProvider credentials)
      throws IOException {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(credentials, "credentials");
    S3ImageStore store = new S3ImageStore(config, S3Clients.region(config), credentials);
    try {
      S3Clients.checkAccess(store, credentials);
    } catch (IOException | RuntimeException e) {
      store.close();
      throw e;
    }
    return store;
  }

  /** The configuration the store was opened with. */
  public S3StoreConfig config() {
    return config;
  }

  @Override
  public ImageUpload begin(ImageKey key) throws IOException {
    Objects.requireNonNull(key, "key");
    if (isCommitted(key)) {
      throw alreadyCommitted(key);
    }
    return new S3ImageUpload(this, key);
  }

  @Override
  public Optional<ImageManifest> manifest(ImageKey key) throws IOException {
    String objectKey = config.objectKey(key.manifestKey());
    byte[] json;
    try {
      json = s3.getObjectAsBytes(b -> b.bucket(config.bucket()).key(objectKey)).asByteArray();
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        return Optional.empty();
      }
      throw S3Errors.io("read the manifest of image " + key, url(objectKey), e);
    }
    ImageManifest manifest = ManifestJson.fromJson(json, url(objectKey));
    if (!manifest.workflowId().equals(key.workflowId()) || manifest.seq() != key.seq()) {
      throw new CorruptManifestException(
          url(objectKey),
          "it describes image " + manifest.key() + ", not " + key
              + "; was it copied or renamed by hand? Delete image " + key);
    }
    return Optional.of(manifest);
  }

  @Override
  public InputStream openData(ImageKey key) throws IOException {
    if (!isCommitted(key)) {
      throw new ImageNotFoundException(key, describe());
    }
    String dataKey = config.objectKey(key.dataKey());
    HeadObjectResponse head;
    try {
      head = s3.headObject(b -> b.bucket(config.bucket()).key(dataKey));
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        throw missingData(key, e);
      }
      throw S3Errors.io("look up the data of image " + key, url(dataKey), e);
    }
    long size = head.contentLength();
    if (size <= 2L * config.partSize()) {
      return openWhole(key, dataKey, head.eTag());
    }
    return new S3RangedInputStream(this, key, dataKey, size, head.eTag());
  }

  private InputStream openWhole(ImageKey key, String dataKey, String eTag) throws IOException {
    ResponseInputStream<GetObjectResponse> in;
    try {
      in = s3.getObject(b -> b.bucket(config.bucket()).key(dataKey).ifMatch(eTag));
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        throw missingData(key, e);
      }
      throw S3Errors.io("read the data of image " + key, url(dataKey), e);
    }
    return new S3ObjectInputStream(in, "image " + key + " at " + url(dataKey));
  }

  /** The data is gone: deleted since we looked (not found), or the store is damaged. */
  private IOException missingData(ImageKey key, SdkException e) throws IOException {
    if (!isCommitted(key)) {
      return new ImageNotFoundException(key, describe());
    }
    return new IOException(
        "image " + key + " in " + describe() + " has a manifest but no data at "
            + url(config.objectKey(key.dataKey())) + ": the store was damaged (objects removed by"
            + " hand?); delete image " + key,
        e);
  }

  @Override
  public List<Long> seqs(String workflowId) throws IOException {
    return seqsNamed(workflowId, ImageKey::seqOfManifestName, "the images of workflow " + workflowId);
  }

  /** The seqs in the workflow's folder that {@code parse} finds in an object's name (-1: none), ascending. */
  private List<Long> seqsNamed(String workflowId, java.util.function.ToLongFunction<String> parse, String what)
      throws IOException {
    String folder = config.objectKey(ImageKey.workflowPrefix(workflowId));
    List<Long> seqs = new ArrayList<>();
    for (S3Object object : list(folder, true, what)) {
      long seq = parse.applyAsLong(object.key().substring(folder.length()));
      if (seq > 0) {
        seqs.add(seq);
      }
    }
    Collections.sort(seqs);
    return Collections.unmodifiableList(seqs);
  }

  @Override
  public List<String> workflowIds() throws IOException {
    String images = config.objectKey("images/");
    TreeSet<String> ids = new TreeSet<>();
    for (S3Object object : list(images, false, "the workflows")) {
      String rest = object.key().substring(images.length());
      int slash = rest.indexOf('/');
      if (slash > 0 && ImageKey.seqOfManifestName(rest.substring(slash + 1)) > 0) {
        String id = rest.substring(0, slash);
        if (WorkflowId.isValid(id)) {
          ids.add(id);
        }
      }
    }
    return List.copyOf(ids);
  }

  /** Every object under {@code folder}, page by page; only its direct children if {@code flat}. */
  private List<S3Object> list(String folder, boolean flat, String what) throws IOException {
    ListObjectsV2Request.Builder request =
        ListObjectsV2Request.builder().bucket(config.bucket()).prefix(folder);
    if (flat) {
      request.delimiter("/");
    }
    List<S3Object> objects = new ArrayList<>();
    try {
      for (ListObjectsV2Response page : s3.listObjectsV2Paginator(request.build())) {
        objects.addAll(page.contents());
      }
    } catch (SdkException e) {
      throw S3Errors.io("list " + what, url(folder), e);
    }
    return objects;
  }

  @Override
  public InputStream openRange(ImageKey key, long offset, long length) throws IOException {
    return openRange(config.objectKey(key.dataKey()), offset, length, "the data object of image " + key,
        () -> new ImageNotFoundException(key, describe()));
  }

  /**
   * Opens {@code length} bytes of the object {@code objectKey} from {@code offset} with one ranged
   * GET (a HEAD for an empty range), {@code what} it is in messages.
   *
   * @throws ImageNotFoundException from {@code missing} if there is no such object
   * @throws IOException if the object ends before {@code offset + length}
   */
  private InputStream openRange(String objectKey, long offset, long length, String what,
      java.util.function.Supplier<ImageNotFoundException> missing) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("a range starts and runs from 0, got " + offset + " and " + length);
    }
    if (length == 0) {
      // No GET of no bytes: a HEAD says whether the object exists and reaches the offset.
      long size;
      try {
        size = s3.headObject(b -> b.bucket(config.bucket()).key(objectKey)).contentLength();
      } catch (SdkException e) {
        if (S3Errors.isNotFound(e)) {
          throw missing.get();
        }
        throw S3Errors.io("look up " + what, url(objectKey), e);
      }
      if (size < offset) {
        throw new IOException(what + " at " + url(objectKey) + " holds " + size
            + " bytes, so it has no offset " + offset + ": the store was damaged (an object cut short?)");
      }
      return InputStream.nullInputStream();
    }
    ResponseInputStream<GetObjectResponse> in;
    try {
      in = s3.getObject(b -> b.bucket(config.bucket()).key(objectKey).range("bytes=" + offset + "-" + (offset + length - 1)));
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        throw missing.get();
      }
      if (S3Errors.status(e) == 416) { // the range starts at or after the object's end
        throw new IOException(what + " at " + url(objectKey) + " ends before byte " + offset
            + ", so bytes " + offset + " to " + (offset + length) + " cannot be read: the store was damaged (an object"
            + " cut short?)", e);
      }
      throw S3Errors.io("read bytes " + offset + " to " + (offset + length) + " of " + what, url(objectKey), e);
    }
    Long got = in.response().contentLength();
    if (got == null || got != length) {
      in.abort();
      throw new IOException(what + " at " + url(objectKey) + " gave " + got + " bytes for a"
          + " range of " + length + " from " + offset + ": the store was damaged (an object cut short?)");
    }
    return new S3ObjectInputStream(in, "bytes " + offset + " to " + (offset + length) + " of " + what + " at " + url(objectKey));
  }

  @Override
  public List<Long> dataSeqs(String workflowId) throws IOException {
    return seqsNamed(workflowId, ImageKey::seqOfDataName, "the data objects of workflow " + workflowId);
  }

  @Override
  public void deleteManifest(ImageKey key) throws IOException {
    deleteObject(key, key.manifestKey());
  }

  @Override
  public void deleteData(ImageKey key) throws IOException {
    deleteObject(key, key.dataKey());
  }

  private void deleteObject(ImageKey key, String relative) throws IOException {
    deleteObject(relative, "image " + key);
  }

  private void deleteObject(String relative, String what) throws IOException {
    String objectKey = config.objectKey(relative);
    try {
      s3.deleteObject(b -> b.bucket(config.bucket()).key(objectKey));
    } catch (SdkException e) {
      if (!S3Errors.isNotFound(e)) {
        throw S3Errors.io("delete " + what, url(objectKey), e);
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>One PutObject of {@code <prefix>/shared/<name>}, with the store's server-side encryption.
   */
  @Override
  public void putShared(String name, byte[] bytes) throws IOException {
    String objectKey = config.objectKey(SharedNames.key(name));
    Objects.requireNonNull(bytes, "bytes");
    try {
      s3.putObject(putRequest(objectKey, SHARED_TYPE), RequestBody.fromBytes(bytes));
    } catch (SdkException e) {
      throw S3Errors.io("write shared object " + name, url(objectKey), e);
    }
  }

  @Override
  public boolean sharedExists(String name) throws IOException {
    return exists(config.objectKey(SharedNames.key(name)), "check whether shared object " + name + " exists");
  }

  /** Whether {@code objectKey} exists (a HEAD); {@code doing} names the request in errors. */
  private boolean exists(String objectKey, String doing) throws IOException {
    try {
      s3.headObject(b -> b.bucket(config.bucket()).key(objectKey));
      return true;
    } catch (SdkException e) {
      if (S3Errors.isNotFound(e)) {
        return false;
      }
      throw S3Errors.io(doing, url(objectKey), e);
    }
  }

  @Override
  public InputStream openSharedRange(String name, long offset, long length) throws IOException {
    return openRange(config.objectKey(SharedNames.key(name)), offset, length, "the shared object " + name,
        () -> ImageNotFoundException.ofShared(name, describe()));
  }

  /**
   * {@inheritDoc}
   *
   * <p>ListObjectsV2 of the keys that start with {@code shared/<prefix>} under the store's prefix,
   * page by page; objects whose names are not valid (none that the store writes) are left out.
   */
  @Override
  public SortedMap<String, Instant> listShared(String prefix) throws IOException {
    SharedNames.checkPrefix(prefix);
    String folder = config.objectKey(SharedNames.FOLDER);
    TreeMap<String, Instant> found = new TreeMap<>();
    for (S3Object object : list(folder + prefix, false, "the shared objects")) {
      String name = object.key().substring(folder.length());
      if (SharedNames.isValid(name)) {
        found.put(name, object.lastModified());
      }
    }
    return Collections.unmodifiableSortedMap(found);
  }

  @Override
  public void deleteShared(String name) throws IOException {
    deleteObject(SharedNames.key(name), "shared object " + name);
  }

  /**
   * {@inheritDoc}
   *
   * <p>A HEAD first skips a stored jar; else one PutObject, with {@code If-None-Match: *} and the
   * store's server-side encryption.
   */
  @Override
  public void putApp(String sha256, Path jar) throws IOException {
    apps.put(sha256, jar);
  }

  @Override
  public void fetchApp(String sha256, Path target) throws IOException {
    apps.fetch(sha256, target);
  }

  /** {@code s3://bucket/prefix at <endpoint>}, or {@code at AWS S3 in <region>}. */
  @Override
  public String describe() {
    return config.uri() + " at " + where;
  }

  @Override
  public String toString() {
    return describe();
  }

  /** Releases the connections and threads; uploads and downloads still running fail. */
  @Override
  public void close() {
    transfers.shutdownNow();
    s3.close();
  }

  S3Client client() {
    return s3;
  }

  ExecutorService transfers() {
    return transfers;
  }

  String where() {
    return where;
  }

  /** {@code s3://bucket/key}, for messages. */
  String url(String objectKey) {
    return "s3://" + config.bucket() + "/" + objectKey + " (" + where + ")";
  }

  /** Serializes the commits of one key (and some others) in this process. */
  Object commitLock(ImageKey key) {
    return commitLocks[Math.floorMod(key.hashCode(), LOCK_STRIPES)];
  }

  /** Whether the manifest of {@code key} is stored: whether the image exists. */
  boolean isCommitted(ImageKey key) throws IOException {
    return exists(config.objectKey(key.manifestKey()), "check whether image " + key + " is committed");
  }

  FileAlreadyExistsException alreadyCommitted(ImageKey key) {
    return new FileAlreadyExistsException(
        url(config.objectKey(key.manifestKey())),
        null,
        "image " + key + " is already committed in " + describe()
            + "; images are immutable: delete it first or write the next seq");
  }

  /** A PutObject of the store's bucket, with its server-side encryption. */
  PutObjectRequest putRequest(String objectKey, String contentType) {
    return PutObjectRequest.builder().bucket(config.bucket()).key(objectKey).contentType(contentType)
        .serverSideEncryption(sse()).ssekmsKeyId(config.kmsKeyId().orElse(null)).build();
  }

  /** A CreateMultipartUpload of the store's bucket, with its server-side encryption. */
  CreateMultipartUploadRequest multipartRequest(String objectKey, String contentType) {
    return CreateMultipartUploadRequest.builder().bucket(config.bucket()).key(objectKey).contentType(contentType)
        .serverSideEncryption(sse()).ssekmsKeyId(config.kmsKeyId().orElse(null)).build();
  }

  /** The SSE header value of the configuration; null (no header) for none. A KMS key id only comes with KMS. */
  private ServerSideEncryption sse() {
    return switch (config.serverSideEncryption()) {
      case S3 -> ServerSideEncryption.AES256;
      case KMS -> ServerSideEncryption.AWS_KMS;
      case NONE -> null;
    };
  }

  private static ThreadFactory daemonThreads() {
    AtomicInteger count = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, "torpor-s3-transfer-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
