package dev.torpor.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The whole {@link ImageStore} contract against a real S3-compatible server (S3Proxy). */
class S3ImageStoreIT extends ImageStoreContractTest {
  private static final String BUCKET = "torpor-contract";
  private static S3ProxyProcess s3;
  /** A client of the server beside the stores, to damage what they stored. */
  private static S3Client raw;

  @BeforeAll
  static void startServer() throws Exception {
    s3 = S3ProxyProcess.launch();
    s3.createBucket(BUCKET);
    raw = s3.newClient();
  }

  @AfterAll
  static void stopServer() {
    if (raw != null) {
      raw.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  /** A store under a fresh prefix: no test sees another's objects. */
  @Override
  protected ImageStore newStore() throws Exception {
    String prefix = "contract/" + UUID.randomUUID();
    return S3ImageStore.open(s3.configFor(BUCKET).prefix(prefix).build(), s3.credentials());
  }

  @Test
  void sharedObjectsAreKeyedUnderTheSharedFolderOfThePrefixAndStrayKeysAreNotListed() throws Exception {
    S3StoreConfig config = ((S3ImageStore) store).config();
    byte[] marker = TestManifests.bytes(1, 10);

    store.putShared("p1.refs/wf-7", marker);
    raw.putObject(b -> b.bucket(BUCKET).key(config.objectKey("shared/.p2.pack")), RequestBody.fromBytes(marker));
    raw.putObject(b -> b.bucket(BUCKET).key(config.objectKey("shared/p1.refs/a/b")), RequestBody.fromBytes(marker));

    String key = config.objectKey("shared/p1.refs/wf-7");
    assertThat(key).isEqualTo(config.prefix() + "/shared/p1.refs/wf-7");
    assertThat(raw.getObjectAsBytes(b -> b.bucket(BUCKET).key(key)).asByteArray()).isEqualTo(marker);
    assertThat(store.listShared("")).containsOnlyKeys("p1.refs/wf-7");
  }

  @Override
  protected void overwriteManifest(ImageKey key, byte[] content) {
    String objectKey = ((S3ImageStore) store).config().objectKey(key.manifestKey());
    raw.putObject(b -> b.bucket(BUCKET).key(objectKey), RequestBody.fromBytes(content));
  }
}
