package dev.torpor.storage;

import java.io.IOException;
import java.time.Duration;
import java.util.UUID;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;

/** Builds the S3 client of a store and checks, before the first checkpoint, that it can work. */
final class S3Clients {
  /** S3 clients are built for one bucket; more connections than this are never in use at once. */
  private static final int MIN_CONNECTIONS = 64;

  private S3Clients() {}

  /**
   * The region: configured, else the SDK's default chain, else us-east-1 when an endpoint is set
   * (S3-compatible servers mostly ignore it, but requests are signed with one).
   */
  static Region region(S3StoreConfig config) throws IOException {
    if (config.region().isPresent()) {
      return Region.of(config.region().get());
    }
    try {
      return DefaultAwsRegionProviderChain.builder().build().getRegion();
    } catch (SdkClientException e) {
      if (config.endpoint().isPresent()) {
        return Region.US_EAST_1;
      }
      throw new IOException(
          "no AWS region is set for the S3 image store " + config.uri() + ": set the region"
              + " option (region=eu-west-1), or AWS_REGION, or a region in the AWS profile",
          e);
    }
  }

  /** Where the bucket is, for messages: the endpoint, or AWS S3 and the region. */
  static String where(S3StoreConfig config, Region region) {
    return config.endpoint().map(Object::toString).orElse("AWS S3 in " + region.id());
  }

  static S3Client build(S3StoreConfig config, Region region, AwsCredentialsProvider credentials) {
    Apache5HttpClient.Builder http =
        Apache5HttpClient.builder()
            .maxConnections(Math.max(MIN_CONNECTIONS, 16 * config.parallelism()))
            .connectionTimeout(Duration.ofSeconds(5))
            .socketTimeout(Duration.ofSeconds(60));
    ClientOverrideConfiguration retries =
        ClientOverrideConfiguration.builder()
            .retryStrategy(
                AwsRetryStrategy.standardRetryStrategy().toBuilder()
                    .maxAttempts(config.maxAttempts())
                    .build())
            .build();
    var builder =
        S3Client.builder()
            .region(region)
            .credentialsProvider(credentials)
            .httpClientBuilder(http)
            .forcePathStyle(config.pathStyle())
            .overrideConfiguration(retries);
    config.endpoint().ifPresent(builder::endpointOverride);
    return builder.build();
  }

  /**
   * Fails with a message that names the bucket, the endpoint and the fix unless the credentials
   * may read and write the store: checks the bucket (HeadBucket), then writes and deletes a small
   * object under {@code <prefix>/.torpor-probe/}, the way manifests are written (server-side
   * encryption, {@code If-None-Match: *}), so that a read-only credential, an unsupported
   * encryption or a server without conditional writes shows at start, not at the first
   * checkpoint.
   */
  static void checkAccess(S3ImageStore store, AwsCredentialsProvider credentials)
      throws IOException {
    S3StoreConfig config = store.config();
    String where = store.where();
    String bucket = config.bucket();
    try {
      credentials.resolveCredentials();
    } catch (SdkClientException e) {
      throw new IOException(
          "no AWS credentials for the S3 image store " + config.uri() + ": set AWS_ACCESS_KEY_ID"
              + " and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance or task role ("
              + e.getMessage() + ")",
          e);
    }
    try {
      store.client().headBucket(b -> b.bucket(bucket));
    } catch (SdkException e) {
      throw headBucketFailure(config, where, e);
    }
    String probe = config.objectKey(".torpor-probe/" + UUID.randomUUID() + ".txt");
    try {
      store.client().putObject(
          store.putRequest(probe, "text/plain").toBuilder().ifNoneMatch("*").build(),
          RequestBody.fromString("written by torpor at start to check write access; deleted at once"));
    } catch (SdkException e) {
      throw probeFailure(config, where, "write", probe, e);
    }
    try {
      store.client().deleteObject(b -> b.bucket(bucket).key(probe));
    } catch (SdkException e) {
      throw probeFailure(config, where, "delete", probe, e);
    }
  }

  private static IOException headBucketFailure(S3StoreConfig config, String where, SdkException e) {
    String bucket = config.bucket();
    int status = S3Errors.status(e);
    String message;
    if (status == 404) {
      message =
          "bucket " + bucket + " does not exist at " + where + ": create it (for example"
              + " `aws s3 mb s3://" + bucket + "`) or correct the bucket name";
    } else if (status == 403) {
      message =
          "credentials rejected by " + where + " for bucket " + bucket + " (HTTP 403 on"
              + " HeadBucket): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) to"
              + " credentials that may list, read and write the bucket";
    } else if (status == 301 || status == 400) {
      String region =
          e instanceof AwsServiceException aws
                  && aws.awsErrorDetails() != null
                  && aws.awsErrorDetails().sdkHttpResponse() != null
              ? aws.awsErrorDetails().sdkHttpResponse().firstMatchingHeader("x-amz-bucket-region")
                  .orElse(null)
              : null;
      message =
          "bucket " + bucket + " at " + where + " answered HeadBucket with "
              + S3Errors.reason(e)
              + (region != null
                  ? ": the bucket is in region " + region + "; set region=" + region
                  : ": check the region and the endpoint");
    } else if (status == 0) {
      message =
          "cannot reach the S3 endpoint " + where + " for bucket " + bucket + ": "
              + S3Errors.reason(e) + "; check the endpoint URL and the network, and that the"
              + " server is running";
    } else {
      message =
          "cannot check bucket " + bucket + " at " + where + ": HeadBucket failed with "
              + S3Errors.reason(e);
    }
    return new IOException(message, e);
  }

  private static IOException probeFailure(
      S3StoreConfig config, String where, String what, String key, SdkException e) {
    String bucket = config.bucket();
    String code = S3Errors.code(e);
    String action = what.equals("write") ? "PutObject" : "DeleteObject";
    String message;
    if (S3Errors.status(e) == 501 && config.serverSideEncryption() != S3StoreConfig.Sse.NONE) {
      message =
          "the S3 server at " + where + " rejected server-side encryption "
              + config.serverSideEncryption() + " (" + S3Errors.reason(e) + " on " + action + " of "
              + key + "): set sse=none, or use a server that supports it";
    } else if (S3Errors.status(e) == 501) {
      message =
          "the S3 server at " + where + " does not implement what the store needs ("
              + S3Errors.reason(e) + " on " + action + " of " + key + "): manifests are written"
              + " with If-None-Match: * so that an image is committed once; use a server that"
              + " supports conditional writes";
    } else if (code.equals("InvalidAccessKeyId") || code.equals("SignatureDoesNotMatch")) {
      message =
          "credentials rejected by " + where + " for bucket " + bucket + " (" + S3Errors.reason(e)
              + "): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) to valid"
              + " credentials";
    } else if (S3Errors.status(e) == 403) {
      message =
          "the credentials may read bucket " + bucket + " at " + where + " but not " + what + " in"
              + " it (" + S3Errors.reason(e) + " on " + action + " of " + key + "): grant"
              + " s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload on s3://" + bucket + "/"
              + config.objectKey("*")
              + (config.serverSideEncryption() == S3StoreConfig.Sse.KMS
                  ? ", and the use of the KMS key" + config.kmsKeyId().map(k -> " " + k).orElse("")
                  : "");
    } else {
      message =
          "cannot " + what + " a probe object in bucket " + bucket + " at " + where + " ("
              + action + " of " + key + "): " + S3Errors.reason(e);
    }
    return new IOException(message, e);
  }
}
