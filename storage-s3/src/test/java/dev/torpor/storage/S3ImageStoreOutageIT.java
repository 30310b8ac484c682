package dev.torpor.storage;

import static dev.torpor.storage.TestManifests.aManifest;
import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.TestManifests.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The S3 server goes away (its process is killed) and comes back on the same port with the same
 * objects: uploads fail cleanly and leave nothing, downloads fail or carry on, and the store works
 * again once the server is back.
 */
class S3ImageStoreOutageIT {
  private static final String BUCKET = "torpor-outage";
  private static final int PART = S3StoreConfig.MIN_PART_SIZE;
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

  /** Every test leaves the server running, whatever happened. */
  @AfterEach
  void serverBack() {
    if (!s3.isRunning()) {
      s3.start();
    }
  }

  private static S3ImageStore open(int maxAttempts) throws IOException {
    S3StoreConfig config =
        s3.configFor(BUCKET)
            .prefix("outage/" + UUID.randomUUID())
            .partSize(PART)
            .parallelism(2)
            .maxAttempts(maxAttempts)
            .build();
    return S3ImageStore.open(config, s3.credentials());
  }

  private static ImageKey newKey(String base) {
    return new ImageKey(base + "-" + UUID.randomUUID().toString().substring(0, 8), 1);
  }

  @Test
  void openingAgainstAStoppedServerSaysTheEndpointCannotBeReached() {
    s3.stop();

    assertThatThrownBy(() -> open(2))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot reach the S3 endpoint " + s3.endpoint() + " for bucket " + BUCKET)
        .hasMessageContaining("Connection refused")
        .hasMessageContaining("check the endpoint URL");
  }

  @Test
  void anUploadDuringAnOutageFailsLeavesNothingAndTheKeyCommitsOnceTheServerIsBack()
      throws IOException {
    try (S3ImageStore store = open(2)) {
      ImageKey large = newKey("outage-large");
      ImageKey small = newKey("outage-small");
      byte[] data = bytes(1, 4 * PART);
      ImageUpload largeUpload = store.begin(large);
      ImageUpload smallUpload = store.begin(small);
      largeUpload.data().write(data, 0, 2 * PART); // the multipart upload has started
      smallUpload.data().write(data, 0, 1_000);
      assertThat(store.stats.multipartUploads).hasValue(1);

      s3.stop();

      assertThatThrownBy(
              () -> {
                largeUpload.data().write(data, 2 * PART, 2 * PART);
                largeUpload.commit(aManifest(large, data));
              })
          .isInstanceOf(IOException.class)
          .hasMessageContaining("image " + large);
      byte[] smallData = Arrays.copyOf(data, 1_000);
      assertThatThrownBy(() -> smallUpload.commit(aManifest(small, smallData)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("image " + small);
      largeUpload.close(); // the server is down: the abort fails, quietly
      smallUpload.close();

      s3.start();

      for (ImageKey key : new ImageKey[] {large, small}) {
        assertThat(store.manifest(key)).isEmpty();
        assertThat(store.seqs(key.workflowId())).isEmpty();
        assertThat(store.workflowIds()).doesNotContain(key.workflowId());
        assertThatThrownBy(() -> store.openData(key)).isInstanceOf(ImageNotFoundException.class);
      }
      try (ImageUpload again = store.begin(large)) {
        again.data().write(data);
        again.commit(aManifest(large, data));
      }
      try (InputStream in = store.openData(large)) {
        assertThat(in.readAllBytes()).isEqualTo(data);
      }
    }
  }

  @Test
  void aDownloadCarriesOnWhenTheServerRestartsBetweenRanges() throws IOException {
    // Enough attempts, with the SDK's backoff, to wait out a restart.
    try (S3ImageStore store = open(10)) {
      ImageKey key = newKey("restart");
      byte[] data = bytes(2, 6 * PART + 17);
      try (ImageUpload upload = store.begin(key)) {
        upload.data().write(data);
        upload.commit(aManifest(key, data));
      }

      try (InputStream in = store.openData(key)) {
        assertThat(in.read()).isEqualTo(data[0] & 0xff); // the first ranges are fetched

        s3.stop();
        s3.start();

        assertThat(sha256Hex(in)).isEqualTo(sha256Hex(Arrays.copyOfRange(data, 1, data.length)));
      }
    }
  }

  @Test
  void aDownloadFailsWithAnIOExceptionWhenTheServerStaysDown() throws IOException {
    try (S3ImageStore store = open(2)) {
      ImageKey key = newKey("down");
      byte[] data = bytes(3, 6 * PART);
      try (ImageUpload upload = store.begin(key)) {
        upload.data().write(data);
        upload.commit(aManifest(key, data));
      }

      try (InputStream in = store.openData(key)) {
        assertThat(in.read()).isEqualTo(data[0] & 0xff);

        s3.stop();

        assertThatThrownBy(in::readAllBytes)
            .isInstanceOf(IOException.class)
            .hasMessageContaining("of image " + key)
            .hasMessageContaining("attempts");
      }
    }
  }
}
