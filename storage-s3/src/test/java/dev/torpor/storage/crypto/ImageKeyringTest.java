package dev.torpor.storage.crypto;

import static dev.torpor.storage.crypto.TestKeys.key;
import static dev.torpor.storage.crypto.TestKeys.keyId;
import static dev.torpor.storage.crypto.TestKeys.rawKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageKeyringTest {
  private static final String HOW_TO = "head -c 32 /dev/urandom | base64";

  @TempDir Path tmp;

  private Path keyFile(String content, String permissions) throws IOException {
    Path file = tmp.resolve("image.keys");
    Files.writeString(file, content, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
    return file;
  }

  @Test
  void theFirstKeyIsCurrentAndTheOthersAreKeptInOrder() throws Exception {
    Path file =
        keyFile("# image keys, newest first\n\n" + key(3) + "\n  " + key(2) + "  \r\n# old:\n" + key(1) + "\n", "rw-------");

    ImageKeyring keyring = ImageKeyring.fromFile(file);

    assertThat(keyring.currentKeyId()).isEqualTo(keyId(3));
    assertThat(keyring.keyIds()).containsExactly(keyId(3), keyId(2), keyId(1));
    assertThat(keyring.contains(keyId(1))).isTrue();
    assertThat(keyring.contains(keyId(4))).isFalse();
    assertThat(keyring.currentKey()).isEqualTo(rawKey(3));
    assertThat(keyring.key(keyId(2))).isEqualTo(rawKey(2));
    assertThat(keyring.source()).isEqualTo("image key file " + file);
    assertThat(keyring.warning()).isEmpty();
  }

  @Test
  void theKeyIdIsAPrefixOfTheLabelledHashAndNeverTheKey() throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update("torpor-image-key-v1".getBytes(StandardCharsets.US_ASCII));
    String expected = HexFormat.of().formatHex(sha.digest(rawKey(1))).substring(0, 16);

    assertThat(ImageKeyring.keyIdOf(rawKey(1))).isEqualTo(expected).matches("[0-9a-f]{16}");
    assertThat(keyId(1)).isNotEqualTo(keyId(2));
    assertThat(TestKeys.keyring(1, 2).toString())
        .contains(keyId(1), keyId(2))
        .doesNotContain(key(1))
        .doesNotContain(HexFormat.of().formatHex(rawKey(1)));
  }

  @Test
  void readsUrlSafeAndUnpaddedBase64() throws Exception {
    byte[] raw = new byte[32];
    raw[0] = (byte) 0xfb; // encodes to '-' or '+' at the start
    raw[1] = (byte) 0xff;
    String urlSafe = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    String standard = Base64.getEncoder().withoutPadding().encodeToString(raw);
    assertThat(urlSafe).contains("-");

    assertThat(ImageKeyring.fromEnvironmentValue("K", urlSafe).currentKeyId()).isEqualTo(ImageKeyring.keyIdOf(raw));
    assertThat(ImageKeyring.fromEnvironmentValue("K", standard).currentKeyId()).isEqualTo(ImageKeyring.keyIdOf(raw));
  }

  @Test
  void anEnvironmentValueMaySeparateKeysWithCommasOrLines() {
    ImageKeyring keyring = ImageKeyring.fromEnvironmentValue("TORPOR_IMAGE_KEYS", key(2) + "," + key(1) + "\n" + key(3));

    assertThat(keyring.keyIds()).containsExactly(keyId(2), keyId(1), keyId(3));
    assertThat(keyring.source()).isEqualTo("environment variable TORPOR_IMAGE_KEYS");
    assertThat(keyring.warning()).isEmpty();
  }

  @Test
  void anUnreadableFileIsNamed() {
    Path missing = tmp.resolve("no-such.keys");

    assertThatThrownBy(() -> ImageKeyring.fromFile(missing))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot read the image key file " + missing)
        .hasMessageContaining("NoSuchFileException");
  }

  @Test
  void aLineThatIsNotBase64IsNamedWithoutShowingIt() throws Exception {
    Path file = keyFile(key(1) + "\n# comment\nnot*base64!" + key(2).substring(12) + "\n", "rw-------");

    assertThatThrownBy(() -> ImageKeyring.fromFile(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("line 3 of the image key file " + file + " is not base64")
        .hasMessageContaining(HOW_TO)
        .message()
        .doesNotContain(key(2).substring(12));
  }

  @Test
  void aKeyOfTheWrongLengthSaysHowToMakeOne() throws Exception {
    String short16 = Base64.getEncoder().encodeToString(new byte[16]);
    Path file = keyFile("\n" + short16 + "\n", "rw-------");

    assertThatThrownBy(() -> ImageKeyring.fromFile(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("line 2 of the image key file " + file + " is a key of 16 bytes")
        .hasMessageContaining("32 bytes")
        .hasMessageContaining(HOW_TO);
    assertThatThrownBy(() -> ImageKeyring.fromEnvironmentValue("TORPOR_IMAGE_KEYS", key(1) + "," + Base64.getEncoder().encodeToString(new byte[48])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("entry 2 of the environment variable TORPOR_IMAGE_KEYS is a key of 48 bytes");
  }

  @Test
  void noKeyAtAllIsRefused() throws Exception {
    Path comments = keyFile("# no keys yet\n\n   \n", "rw-------");

    assertThatThrownBy(() -> ImageKeyring.fromFile(comments))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the image key file " + comments + " holds no image key")
        .hasMessageContaining(HOW_TO);
    assertThatThrownBy(() -> ImageKeyring.fromFile(keyFile("", "rw-------")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("holds no image key");
    assertThatThrownBy(() -> ImageKeyring.fromEnvironmentValue("TORPOR_IMAGE_KEYS", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the environment variable TORPOR_IMAGE_KEYS holds no image key");
    assertThatThrownBy(() -> ImageKeyring.fromEnvironmentValue("TORPOR_IMAGE_KEYS", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the environment variable TORPOR_IMAGE_KEYS is not set")
        .hasMessageContaining(HOW_TO);
    assertThatThrownBy(() -> ImageKeyring.fromEnvironment("TORPOR_TEST_SURELY_UNSET_7f3a"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("TORPOR_TEST_SURELY_UNSET_7f3a is not set");
  }

  @Test
  void aRepeatedKeyIsRefused() {
    assertThatThrownBy(() -> ImageKeyring.fromEnvironmentValue("K", key(1) + "\n" + key(2) + "\n" + key(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("entry 3 of the environment variable K repeats the key of entry 1 (key id " + keyId(1) + ")");
  }

  @Test
  void aKeyFileOthersMayReadLoadsWithAWarning() throws Exception {
    Path file = keyFile(key(1) + "\n", "rw-r--r--");

    ImageKeyring keyring = ImageKeyring.fromFile(file);

    assertThat(keyring.currentKeyId()).isEqualTo(keyId(1));
    assertThat(keyring.warning())
        .hasValueSatisfying(w -> assertThat(w).contains(file.toString(), "group read", "others read", "chmod 600 " + file));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
    assertThat(ImageKeyring.fromFile(file).warning()).isEmpty();
  }

  @Test
  void generateMakesAFreshKeyLine() {
    String one = ImageKeyring.generate();
    String two = ImageKeyring.generate();

    assertThat(Base64.getDecoder().decode(one)).hasSize(32);
    assertThat(one).isNotEqualTo(two).hasSize(44);
    assertThat(ImageKeyring.fromEnvironmentValue("K", one + "\n" + two).keyIds()).hasSize(2);
  }
}
