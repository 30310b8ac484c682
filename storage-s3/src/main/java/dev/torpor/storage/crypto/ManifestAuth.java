package dev.torpor.storage.crypto;

import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ManifestJson;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and checks manifests, so that a store (or whoever can write to it) cannot change what a
 * worker restores: not the {@code sha256} that vouches for the data, not the wait, not the seq.
 *
 * <p>The {@link ImageManifest#mac() mac} is HMAC-SHA256 over the manifest's {@linkplain
 * ManifestJson#toCanonicalJson canonical form} (the manifest without its mac, compact JSON, keys
 * sorted), under a key derived from the image key that encrypted the data: HMAC-SHA256(image key,
 * {@code "torpor-manifest-mac-v1"}). The image key is the one named by the manifest's {@code
 * encryption.keyId}, which the mac therefore covers too; so a signed manifest always describes
 * encrypted data, and a worker with keys refuses plain images along with unsigned manifests.
 *
 * <p>A manifest written by a newer Torpor with keys this version does not know fails
 * verification here, since those keys are covered by its mac but dropped when it is read.
 * Thread-safe.
 */
public final class ManifestAuth {
  private static final byte[] MAC_LABEL = "torpor-manifest-mac-v1".getBytes(StandardCharsets.US_ASCII);
  private static final String HMAC = "HmacSHA256";

  private final ImageKeyring keyring;

  /** Signs with, and checks against, the keys of {@code keyring}. */
  public ManifestAuth(ImageKeyring keyring) {
    this.keyring = Objects.requireNonNull(keyring, "keyring");
  }

  /**
   * A copy of {@code manifest} with its mac set, made under the key named by its {@code
   * encryption.keyId} (for a new image, the current key: {@link ImageCipher#encryption()}).
   *
   * @throws IllegalArgumentException if the manifest has no {@code encryption}, or names a key
   *     this keyring does not hold
   */
  public ImageManifest sign(ImageManifest manifest) {
    Objects.requireNonNull(manifest, "manifest");
    Map<String, String> encryption = manifest.encryption();
    String keyId = encryption == null ? null : encryption.get("keyId");
    if (keyId == null) {
      throw new IllegalArgumentException(
          "cannot sign the manifest of image " + describe(manifest)
              + ": it has no encryption.keyId; encrypt the image (ImageCipher) and record its encryption()");
    }
    byte[] key = keyring.key(keyId);
    if (key == null) {
      throw new IllegalArgumentException(
          "cannot sign the manifest of image " + describe(manifest) + ": its key " + keyId
              + " is not in the " + keyring.source() + " (keys " + keyring.keyIds() + ")");
    }
    return manifest.withMac(HexFormat.of().formatHex(mac(key, manifest)));
  }

  /**
   * Checks that {@code manifest} was signed with one of this keyring's keys, is unchanged, and
   * describes the image {@code expected}.
   *
   * @throws ManifestAuthenticationException if the manifest has no mac, names no key or a key
   *     this keyring lacks, has a wrong mac, or belongs to another workflow or seq
   */
  public void verify(ImageManifest manifest, ImageKey expected) throws ManifestAuthenticationException {
    Objects.requireNonNull(manifest, "manifest");
    Objects.requireNonNull(expected, "expected");
    if (manifest.mac() == null) {
      throw new ManifestAuthenticationException(expected,
          "it has no mac. It was written by a worker without image keys, or its mac was removed; this worker"
              + " has image keys (" + keyring.source() + ") and restores only signed images");
    }
    Map<String, String> encryption = manifest.encryption();
    String keyId = encryption == null ? null : encryption.get("keyId");
    if (keyId == null) {
      throw new ManifestAuthenticationException(expected,
          "it has a mac but no encryption.keyId naming the key that made it");
    }
    byte[] key = keyring.key(keyId);
    if (key == null) {
      throw new ManifestAuthenticationException(expected,
          "it was signed with the image key " + keyId + ", which this worker does not hold (it holds "
              + keyring.keyIds() + " from the " + keyring.source()
              + "); add the key that wrote it to the key file (below the current key) and retry");
    }
    byte[] claimed;
    try {
      claimed = HexFormat.of().parseHex(manifest.mac());
    } catch (IllegalArgumentException e) {
      throw new ManifestAuthenticationException(expected, "its mac is not hex");
    }
    if (!MessageDigest.isEqual(claimed, mac(key, manifest))) {
      throw new ManifestAuthenticationException(expected,
          "its mac does not match its content under image key " + keyId
              + ": the manifest was altered after it was written. Restore an intact copy of it to the store");
    }
    if (!expected.workflowId().equals(manifest.workflowId()) || expected.seq() != manifest.seq()) {
      throw new ManifestAuthenticationException(expected,
          "it is the signed manifest of image " + describe(manifest) + ", put in the place of " + expected
              + "'s; restore the right manifest to the store");
    }
  }

  private static byte[] mac(byte[] imageKey, ImageManifest manifest) {
    try {
      Mac hmac = Mac.getInstance(HMAC);
      hmac.init(new SecretKeySpec(imageKey, HMAC));
      byte[] macKey = hmac.doFinal(MAC_LABEL);
      hmac.init(new SecretKeySpec(macKey, HMAC));
      return hmac.doFinal(ManifestJson.toCanonicalJson(manifest));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no " + HMAC, e);
    }
  }

  private static String describe(ImageManifest manifest) {
    return manifest.workflowId() + "#" + manifest.seq();
  }
}
