package dev.torpor.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.storage.S3StoreConfig.Sse;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class S3StoreConfigTest {
  @Test
  void aBucketAloneGetsTheDefaults() {
    S3StoreConfig config = S3StoreConfig.parse("s3://torpor-images", Map.of());

    assertThat(config.bucket()).isEqualTo("torpor-images");
    assertThat(config.prefix()).isEmpty();
    assertThat(config.region()).isEmpty();
    assertThat(config.endpoint()).isEmpty();
    assertThat(config.pathStyle()).isFalse();
    assertThat(config.serverSideEncryption()).isEqualTo(Sse.NONE);
    assertThat(config.kmsKeyId()).isEmpty();
    assertThat(config.partSize()).isEqualTo(8 << 20);
    assertThat(config.parallelism()).isEqualTo(4);
    assertThat(config.maxAttempts()).isEqualTo(6);
    assertThat(config.uri()).isEqualTo("s3://torpor-images");
    assertThat(config.objectKey("images/x")).isEqualTo("images/x");
  }

  @Test
  void everyOptionIsParsed() {
    Map<String, String> options = new LinkedHashMap<>();
    options.put("region", "eu-west-1");
    options.put("endpoint", "https://minio.internal:9000");
    options.put("pathStyle", "false");
    options.put("sse", "aws:kms");
    options.put("kmsKeyId", "alias/torpor");
    options.put("partSize", "16MiB");
    options.put("parallelism", "8");
    options.put("maxAttempts", "3");

    S3StoreConfig config = S3StoreConfig.parse("s3://torpor.images/prod/eu/", options);

    assertThat(config)
        .isEqualTo(
            new S3StoreConfig(
                "torpor.images",
                "prod/eu",
                Optional.of("eu-west-1"),
                Optional.of(URI.create("https://minio.internal:9000")),
                false,
                Sse.KMS,
                Optional.of("alias/torpor"),
                16 << 20,
                8,
                3));
    assertThat(config.uri()).isEqualTo("s3://torpor.images/prod/eu");
    assertThat(config.objectKey("images/x")).isEqualTo("prod/eu/images/x");
  }

  @Test
  void anEndpointTurnsOnPathStyleUnlessSet() {
    assertThat(S3StoreConfig.parse("s3://torpor-images", Map.of("endpoint", "http://127.0.0.1:9000")).pathStyle())
        .isTrue();
    assertThat(S3StoreConfig.builder("torpor-images").endpoint(URI.create("http://h:1")).build().pathStyle())
        .isTrue();
  }

  @ParameterizedTest
  @CsvSource({
    "5242880, 5242880",
    "5MiB, 5242880",
    "5m, 5242880",
    "5 MB, 5242880",
    "6144KiB, 6291456",
    "1GiB, 1073741824",
  })
  void partSizesTakeBinaryUnits(String value, int bytes) {
    assertThat(S3StoreConfig.parse("s3://torpor-images", Map.of("partSize", value)).partSize())
        .isEqualTo(bytes);
  }

  @ParameterizedTest
  @CsvSource({"none, NONE", "s3, S3", "AES256, S3", "kms, KMS", "aws:kms, KMS"})
  void sseModesAreParsed(String value, Sse sse) {
    assertThat(S3StoreConfig.parse("s3://torpor-images", Map.of("sse", value)).serverSideEncryption())
        .isEqualTo(sse);
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://torpor-images", "torpor-images", "s3:/torpor-images", "gs://torpor-images", ""})
  void aUriOfAnotherSchemeIsRejected(String uri) {
    assertThatThrownBy(() -> S3StoreConfig.parse(uri, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected an S3 store URI like s3://bucket")
        .hasMessageContaining("'" + uri + "'");
  }

  @Test
  void aNullUriIsRejected() {
    assertThatThrownBy(() -> S3StoreConfig.parse(null, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected an S3 store URI");
  }

  @Test
  void aUriWithoutABucketIsRejected() {
    assertThatThrownBy(() -> S3StoreConfig.parse("s3:///prefix", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("names no bucket");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"b1", "Torpor-Images", "torpor_images", "-torpor", "torpor-", "torpor..images",
        "192.168.1.2", "a-bucket-name-that-is-far-too-long-for-s3-which-allows-63-chars-only"})
  void invalidBucketNamesAreRejectedNamingTheRule(String bucket) {
    assertThatThrownBy(() -> S3StoreConfig.parse("s3://" + bucket + "/p", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid S3 bucket name '" + bucket + "'")
        .hasMessageContaining("3 to 63 lowercase letters");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a//b", "a/./b", "a/../b", "..", "a/\tb"})
  void invalidPrefixesAreRejected(String prefix) {
    assertThatThrownBy(() -> S3StoreConfig.parse("s3://torpor-images/" + prefix, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid S3 store prefix");
  }

  @Test
  void aQueryInTheUriIsRejected() {
    assertThatThrownBy(() -> S3StoreConfig.parse("s3://torpor-images/p?region=eu-west-1", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pass region, endpoint and the other settings as options");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "partSize|lots|'lots' is not a size",
        "partSize|-5MiB|is not a size",
        "partSize|4MiB|partSize 4194304 bytes (4 MiB) is out of range",
        "partSize|5000000|out of range: S3 parts are at least 5 MiB",
        "partSize|2GiB|is too large",
        "partSize|99999999999999GiB|is too large",
        "parallelism|0|parallelism must be from 1 to 64, got 0",
        "parallelism|65|parallelism must be from 1 to 64, got 65",
        "parallelism|four|parallelism must be a whole number, got 'four'",
        "maxAttempts|0|maxAttempts must be from 1 to 20, got 0",
        "pathStyle|yes|pathStyle must be true or false, got 'yes'",
        "sse|aes|sse must be none, s3 (AES256) or kms (aws:kms), got 'aes'",
        "region|eu west|invalid S3 region 'eu west'",
        "endpoint|127.0.0.1:9000|endpoint '127.0.0.1:9000' is not a URL",
        "endpoint|localhost:9000|invalid S3 endpoint 'localhost:9000': use an http or https URL",
        "endpoint|ftp://host|invalid S3 endpoint 'ftp://host'",
        "endpoint|http://h:1/?x=1|no query",
        "endpoint|http://[bad|is not a URL",
        "colour|blue|unknown S3 store option 'colour': the options are region, endpoint",
      })
  void badOptionsAreRejectedNamingTheValue(String option, String value, String message) {
    assertThatThrownBy(() -> S3StoreConfig.parse("s3://torpor-images", Map.of(option, value)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void aKmsKeyNeedsKmsEncryption() {
    assertThatThrownBy(() -> S3StoreConfig.parse("s3://torpor-images", Map.of("kmsKeyId", "alias/k")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kmsKeyId 'alias/k' is set but server-side encryption is NONE")
        .hasMessageContaining("set sse=kms");
  }

  @Test
  void theBuilderChecksEachValueAsItIsSet() {
    S3StoreConfig.Builder builder = S3StoreConfig.builder("torpor-images");

    assertThatThrownBy(() -> builder.partSize(1024)).hasMessageContaining("partSize 1024 bytes");
    assertThatThrownBy(() -> builder.parallelism(-1)).hasMessageContaining("got -1");
    assertThatThrownBy(() -> S3StoreConfig.builder("B")).hasMessageContaining("'B'");
    assertThat(builder.prefix("/torpor/").build().prefix()).isEqualTo("torpor");
  }
}
