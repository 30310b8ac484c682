package dev.torpor.storage;

import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The whole {@link ImageStore} contract against a real S3-compatible server (S3Proxy). */
class S3ImageStoreIT extends ImageStoreContractTest {
  private static final String BUCKET = "torpor-contract";
  private static S3ProxyProcess s3;

  @BeforeAll
  static void startServer() throws Exception {
    s3 = S3ProxyProcess.launch();
    s3.createBucket(BUCKET);
  }

  @AfterAll
  static void stopServer() {
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
}
