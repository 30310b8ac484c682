package dev.torpor.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.storage.S3StoreConfig.Sse;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@link S3ImageStore#open} checks, before the first checkpoint, that the store works, and says
 * what to fix when it does not. Against a real S3-compatible server (S3Proxy).
 */
class S3ImageStoreOpenIT {
  private static final String BUCKET = "torpor-open";
  private static S3ProxyProcess s3;

  @BeforeAll
  static void startServer() throws IOException {
    s3 = S3ProxyProcess.launch();
    s3.createBucket(BUCKET);
  }

  @AfterAll
  static void stopServer() {
    if (s3 != null) {
      s3.close();
    }
  }

  @Test
  void aMissingBucketIsNamedWithTheEndpointAndTheFix() {
    assertThatThrownBy(() -> S3ImageStore.open(s3.configFor("no-such-bucket").build(), s3.credentials()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("bucket no-such-bucket does not exist at " + s3.endpoint())
        .hasMessageContaining("create it");
  }

  @ParameterizedTest
  @CsvSource({"torpor-test, wrong-secret", "nobody, torpor-secret"})
  void rejectedCredentialsSayWhatToSet(String accessKey, String secretKey) {
    var wrong = StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey));

    assertThatThrownBy(() -> S3ImageStore.open(s3.configFor(BUCKET).build(), wrong))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("credentials rejected by " + s3.endpoint() + " for bucket " + BUCKET)
        .hasMessageContaining("AWS_ACCESS_KEY_ID");
  }

  /**
   * S3Proxy does not implement server-side encryption: it answers any PutObject or
   * CreateMultipartUpload carrying {@code x-amz-server-side-encryption} (AES256 or aws:kms) with
   * HTTP 501 NotImplemented "Server-side encryption is not supported." That the header is sent is
   * what this shows; the store turns the answer into a message at start.
   */
  @ParameterizedTest
  @CsvSource({"S3, ''", "KMS, ''", "KMS, alias/torpor"})
  void serverSideEncryptionTheServerRefusesFailsAtStart(Sse sse, String kmsKeyId) {
    S3StoreConfig.Builder config = s3.configFor(BUCKET).prefix("sse").serverSideEncryption(sse);
    if (!kmsKeyId.isEmpty()) {
      config.kmsKeyId(kmsKeyId);
    }

    assertThatThrownBy(() -> S3ImageStore.open(config.build(), s3.credentials()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("the S3 server at " + s3.endpoint() + " rejected server-side encryption " + sse)
        .hasMessageContaining("HTTP 501 NotImplemented")
        .hasMessageContaining("set sse=none");
  }

  @Test
  void aSuccessfulOpenLeavesNoProbeBehind() throws IOException {
    try (S3ImageStore store = S3ImageStore.open(s3.configFor(BUCKET).prefix("probe").build(), s3.credentials());
        S3Client raw = s3.newClient()) {
      assertThat(store.describe()).isEqualTo("s3://" + BUCKET + "/probe at " + s3.endpoint());
      assertThat(raw.listObjectsV2(b -> b.bucket(BUCKET).prefix("probe/")).contents()).isEmpty();
    }
  }
}
