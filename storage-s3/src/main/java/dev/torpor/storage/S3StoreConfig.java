package dev.torpor.storage;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where an {@link S3ImageStore} keeps its images and how it talks to the bucket. Build one with
 * {@link #builder(String)} or parse a store URI with {@link #parse(String, Map)}; every value is
 * checked when it is set, and the message names the bad value and what is allowed.
 *
 * <p>Credentials are not part of the configuration: the store takes them from the AWS SDK's
 * default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the instance or task
 * role).
 *
 * @param bucket the bucket, which must exist
 * @param prefix the folder in the bucket holding the store, without leading or trailing '/';
 *     empty for the bucket's root
 * @param region the region; empty: the SDK's default chain (AWS_REGION, the profile, the instance
 *     metadata, which takes a few seconds to give up off EC2), else us-east-1 when an endpoint is
 *     set
 * @param endpoint an S3-compatible server to use instead of AWS (MinIO, Ceph, S3Proxy...)
 * @param pathStyle address objects as {@code endpoint/bucket/key} rather than {@code
 *     bucket.endpoint/key}; most S3-compatible servers want it
 * @param serverSideEncryption how S3 encrypts stored images and manifests
 * @param kmsKeyId the KMS key for {@link Sse#KMS}; empty: the bucket's default key
 * @param partSize the bytes of each multipart upload part and each ranged GET, from 5 MiB (S3's
 *     smallest part) to 1 GiB; each upload keeps up to {@code parallelism + 1} parts in memory
 * @param parallelism how many parts of one image are uploaded, or ranges downloaded, at once: 1 to
 *     64
 * @param maxAttempts how many times each S3 request is tried (the SDK's standard retry strategy,
 *     backing off on throttling and 5xx errors): 1 to 20
 */
public record S3StoreConfig(
    String bucket,
    String prefix,
    Optional<String> region,
    Optional<URI> endpoint,
    boolean pathStyle,
    Sse serverSideEncryption,
    Optional<String> kmsKeyId,
    int partSize,
    int parallelism,
    int maxAttempts) {

  /** S3's smallest multipart part (except the last one). */
  public static final int MIN_PART_SIZE = 5 << 20;
  /** The largest part this store buffers; parts are held in memory. */
  public static final int MAX_PART_SIZE = 1 << 30;
  /** 8 MiB: an upload holds up to 40 MiB with the default parallelism. */
  public static final int DEFAULT_PART_SIZE = 8 << 20;
  /** Parts (or ranges) of one image in flight at once, by default. */
  public static final int DEFAULT_PARALLELISM = 4;
  public static final int MAX_PARALLELISM = 64;
  /** Tries per S3 request, by default: the first and five retries. */
  public static final int DEFAULT_MAX_ATTEMPTS = 6;
  public static final int MAX_ATTEMPTS = 20;

  /** The options {@link #parse} understands. */
  public static final List<String> OPTIONS =
      List.of(
          "region", "endpoint", "pathStyle", "sse", "kmsKeyId", "partSize", "parallelism",
          "maxAttempts");

  /** Server-side encryption of stored objects. */
  public enum Sse {
    /** No encryption header: the bucket's default applies. */
    NONE,
    /** SSE-S3: S3-managed keys ({@code x-amz-server-side-encryption: AES256}). */
    S3,
    /** SSE-KMS: a KMS key ({@code aws:kms}), the bucket's default or {@code kmsKeyId}. */
    KMS
  }

  /** Bucket names S3 accepts today: 3 to 63 lowercase letters, digits, dots and hyphens. */
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  private static final Pattern IP_ADDRESS = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern REGION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

  /** Checks every value; see {@link Builder} for the rules. */
  public S3StoreConfig {
    checkBucket(bucket);
    prefix = normalizePrefix(prefix);
    Objects.requireNonNull(region, "region (use Optional.empty())");
    region.ifPresent(S3StoreConfig::checkRegion);
    Objects.requireNonNull(endpoint, "endpoint (use Optional.empty())");
    endpoint.ifPresent(S3StoreConfig::checkEndpoint);
    Objects.requireNonNull(serverSideEncryption, "serverSideEncryption (use Sse.NONE)");
    Objects.requireNonNull(kmsKeyId, "kmsKeyId (use Optional.empty())");
    checkKmsKey(serverSideEncryption, kmsKeyId);
    checkPartSize(partSize);
    checkRange("parallelism", parallelism, 1, MAX_PARALLELISM);
    checkRange("maxAttempts", maxAttempts, 1, MAX_ATTEMPTS);
  }

  /** A builder for a store in {@code bucket}, with the defaults of every other value. */
  public static Builder builder(String bucket) {
    return new Builder(bucket);
  }

  /**
   * Parses a store URI and its options, e.g. {@code s3://torpor-images/prod} with {@code
   * {"region": "eu-west-1", "partSize": "16MiB"}}.
   *
   * <p>The URI is {@code s3://<bucket>} or {@code s3://<bucket>/<prefix>}. The options (all
   * optional) are {@code region}, {@code endpoint} (an http or https URL), {@code pathStyle}
   * ({@code true}/{@code false}; default true when an endpoint is set), {@code sse} ({@code none},
   * {@code s3} or {@code aes256}, {@code kms} or {@code aws:kms}), {@code kmsKeyId}, {@code partSize}
   * (bytes, or a number with KiB, MiB or GiB: {@code 16MiB}), {@code parallelism} and {@code
   * maxAttempts}.
   *
   * @throws IllegalArgumentException naming the bad part of the URI or the bad option and what is
   *     allowed
   */
  public static S3StoreConfig parse(String uri, Map<String, String> options) {
    Objects.requireNonNull(options, "options (use Map.of())");
    if (uri == null || !uri.regionMatches(true, 0, "s3://", 0, 5)) {
      throw new IllegalArgumentException(
          "expected an S3 store URI like s3://bucket or s3://bucket/prefix, got '" + uri + "'");
    }
    String path = uri.substring(5);
    if (path.contains("?") || path.contains("#")) {
      throw new IllegalArgumentException(
          "the S3 store URI '" + uri + "' has a query or fragment: pass region, endpoint and the"
              + " other settings as options, not in the URI");
    }
    int slash = path.indexOf('/');
    String bucket = slash < 0 ? path : path.substring(0, slash);
    String prefix = slash < 0 ? "" : path.substring(slash + 1);
    if (bucket.isEmpty()) {
      throw new IllegalArgumentException(
          "the S3 store URI '" + uri + "' names no bucket: use s3://bucket or s3://bucket/prefix");
    }
    Builder builder = builder(bucket).prefix(prefix);
    for (Map.Entry<String, String> option : options.entrySet()) {
      applyOption(builder, option.getKey(), option.getValue());
    }
    return builder.build();
  }

  /** The key of an object of the store: {@code relativeKey} under the prefix. */
  String objectKey(String relativeKey) {
    return prefix.isEmpty() ? relativeKey : prefix + "/" + relativeKey;
  }

  /** The store as a URI: {@code s3://bucket/prefix} (or {@code s3://bucket}). */
  public String uri() {
    return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
  }

  private static void applyOption(Builder builder, String name, String value) {
    if (value == null) {
      throw new IllegalArgumentException("S3 store option '" + name + "' has no value");
    }
    String v = value.trim();
    switch (name) {
      case "region" -> builder.region(v);
      case "endpoint" -> builder.endpoint(parseEndpoint(v));
      case "pathStyle" -> builder.pathStyle(parseBoolean(name, v));
      case "sse" -> builder.serverSideEncryption(parseSse(v));
      case "kmsKeyId" -> builder.kmsKeyId(v);
      case "partSize" -> builder.partSize(parseSize(name, v));
      case "parallelism" -> builder.parallelism(parseInt(name, v));
      case "maxAttempts" -> builder.maxAttempts(parseInt(name, v));
      default -> throw new IllegalArgumentException(
          "unknown S3 store option '" + name + "': the options are " + String.join(", ", OPTIONS));
    }
  }

  private static URI parseEndpoint(String value) {
    try {
      return new URI(value);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "S3 store option endpoint '" + value + "' is not a URL: " + e.getReason()
              + "; use e.g. http://127.0.0.1:9000",
          e);
    }
  }

  private static boolean parseBoolean(String name, String value) {
    if (value.equalsIgnoreCase("true")) {
      return true;
    }
    if (value.equalsIgnoreCase("false")) {
      return false;
    }
    throw new IllegalArgumentException(
        "S3 store option " + name + " must be true or false, got '" + value + "'");
  }

  private static Sse parseSse(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "none" -> Sse.NONE;
      case "s3", "aes256" -> Sse.S3;
      case "kms", "aws:kms" -> Sse.KMS;
      default -> throw new IllegalArgumentException(
          "S3 store option sse must be none, s3 (AES256) or kms (aws:kms), got '" + value + "'");
    };
  }

  private static int parseInt(String name, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "S3 store option " + name + " must be a whole number, got '" + value + "'", e);
    }
  }

  /** Parses {@code 8388608}, {@code 8MiB}, {@code 8m}... ({@link ByteSize}); binary units, as part sizes are. */
  static int parseSize(String name, String value) {
    long bytes;
    try {
      bytes = ByteSize.parse(value, "8MiB");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("S3 store option " + name + " " + e.getMessage(), e);
    }
    if (bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "S3 store option " + name + " " + value + " is too large: the largest part is " + mib(MAX_PART_SIZE));
    }
    return (int) bytes;
  }

  static void checkBucket(String bucket) {
    if (bucket == null || !BUCKET.matcher(bucket).matches() || bucket.contains("..")
        || IP_ADDRESS.matcher(bucket).matches()) {
      throw new IllegalArgumentException(
          "invalid S3 bucket name '" + bucket + "': use 3 to 63 lowercase letters, digits, dots"
              + " and hyphens, starting and ending with a letter or digit, without '..', not an"
              + " IP address");
    }
  }

  static String normalizePrefix(String prefix) {
    if (prefix == null) {
      return "";
    }
    String p = prefix;
    while (p.startsWith("/")) {
      p = p.substring(1);
    }
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    if (p.isEmpty()) {
      return p;
    }
    for (String segment : p.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException(
            "invalid S3 store prefix '" + prefix + "': it has an empty, '.' or '..' folder;"
                + " use folders separated by single '/', e.g. torpor/prod");
      }
    }
    for (int i = 0; i < p.length(); i++) {
      if (Character.isISOControl(p.charAt(i))) {
        throw new IllegalArgumentException(
            "invalid S3 store prefix '" + prefix + "': it holds a control character");
      }
    }
    if (p.length() > 512) {
      throw new IllegalArgumentException(
          "S3 store prefix is " + p.length() + " characters long; keep it under 512 so image keys"
              + " fit S3's 1024-byte limit");
    }
    return p;
  }

  static void checkRegion(String region) {
    if (region == null || !REGION.matcher(region).matches()) {
      throw new IllegalArgumentException(
          "invalid S3 region '" + region + "': use a region name such as eu-west-1");
    }
  }

  static void checkEndpoint(URI endpoint) {
    String scheme = endpoint.getScheme();
    if (scheme == null
        || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
        || endpoint.getHost() == null
        || endpoint.getRawQuery() != null
        || endpoint.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "invalid S3 endpoint '" + endpoint + "': use an http or https URL with a host and no"
              + " query, e.g. http://127.0.0.1:9000");
    }
  }

  private static void checkKmsKey(Sse sse, Optional<String> kmsKeyId) {
    if (kmsKeyId.isPresent() && sse != Sse.KMS) {
      throw new IllegalArgumentException(
          "kmsKeyId '" + kmsKeyId.get() + "' is set but server-side encryption is " + sse
              + ": set sse=kms to use the key, or drop kmsKeyId");
    }
    if (kmsKeyId.isPresent() && kmsKeyId.get().isBlank()) {
      throw new IllegalArgumentException(
          "kmsKeyId is blank: name a KMS key (id, alias or ARN), or leave it out to use the"
              + " bucket's default key");
    }
  }

  static void checkPartSize(int partSize) {
    if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new IllegalArgumentException(
          "partSize " + partSize + " bytes (" + mib(partSize) + ") is out of range: S3 parts are"
              + " at least " + mib(MIN_PART_SIZE) + ", and this store holds parts in memory, up to "
              + mib(MAX_PART_SIZE));
    }
  }

  static void checkRange(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be from " + min + " to " + max + ", got " + value);
    }
  }

  private static String mib(long bytes) {
    return bytes % (1 << 20) == 0
        ? (bytes >> 20) + " MiB"
        : String.format(Locale.ROOT, "%.2f MiB", bytes / (double) (1 << 20));
  }

  /** Builds an {@link S3StoreConfig}; each setter checks its value. */
  public static final class Builder {
    private final String bucket;
    private String prefix = "";
    private Optional<String> region = Optional.empty();
    private Optional<URI> endpoint = Optional.empty();
    private Boolean pathStyle;
    private Sse sse = Sse.NONE;
    private Optional<String> kmsKeyId = Optional.empty();
    private int partSize = DEFAULT_PART_SIZE;
    private int parallelism = DEFAULT_PARALLELISM;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;

    private Builder(String bucket) {
      checkBucket(bucket);
      this.bucket = bucket;
    }

    /** The folder in the bucket; leading and trailing '/' are dropped. Default: the root. */
    public Builder prefix(String prefix) {
      this.prefix = normalizePrefix(prefix);
      return this;
    }

    /** The region, e.g. {@code eu-west-1}. Default: the SDK's chain, else us-east-1 with an endpoint. */
    public Builder region(String region) {
      checkRegion(region);
      this.region = Optional.of(region);
      return this;
    }

    /** An S3-compatible server instead of AWS. Also turns on path-style unless set. */
    public Builder endpoint(URI endpoint) {
      checkEndpoint(Objects.requireNonNull(endpoint, "endpoint"));
      this.endpoint = Optional.of(endpoint);
      return this;
    }

    /** Path-style addressing. Default: on with an endpoint, off for AWS. */
    public Builder pathStyle(boolean pathStyle) {
      this.pathStyle = pathStyle;
      return this;
    }

    /** Server-side encryption. Default: {@link Sse#NONE}. */
    public Builder serverSideEncryption(Sse sse) {
      this.sse = Objects.requireNonNull(sse, "serverSideEncryption (use Sse.NONE)");
      return this;
    }

    /** The KMS key for {@link Sse#KMS}; needs {@code serverSideEncryption(KMS)}. */
    public Builder kmsKeyId(String kmsKeyId) {
      this.kmsKeyId = Optional.of(Objects.requireNonNull(kmsKeyId, "kmsKeyId"));
      return this;
    }

    /** Bytes per part and per ranged GET, 5 MiB to 1 GiB. Default: 8 MiB. */
    public Builder partSize(int partSize) {
      checkPartSize(partSize);
      this.partSize = partSize;
      return this;
    }

    /** Parts (or ranges) of one image in flight at once, 1 to 64. Default: 4. */
    public Builder parallelism(int parallelism) {
      checkRange("parallelism", parallelism, 1, MAX_PARALLELISM);
      this.parallelism = parallelism;
      return this;
    }

    /** Tries per S3 request, 1 to 20. Default: 6. */
    public Builder maxAttempts(int maxAttempts) {
      checkRange("maxAttempts", maxAttempts, 1, MAX_ATTEMPTS);
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * The configuration.
     *
     * @throws IllegalArgumentException if a kmsKeyId is set without KMS encryption
     */
    public S3StoreConfig build() {
      return new S3StoreConfig(
          bucket,
          prefix,
          region,
          endpoint,
          pathStyle != null ? pathStyle : endpoint.isPresent(),
          sse,
          kmsKeyId,
          partSize,
          parallelism,
          maxAttempts);
    }
  }
}
