package dev.torpor.storage.crypto;

import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.TestManifests.manifestFor;
import static dev.torpor.storage.crypto.TestKeys.keyId;
import static dev.torpor.storage.crypto.TestKeys.keyring;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ManifestJson;
import dev.torpor.storage.TestManifests;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class ManifestAuthTest {
  private static final ImageKey IMAGE = new ImageKey("wf-auth", 3);

  private final ManifestAuth auth = new ManifestAuth(keyring(1));

  private static TestManifests.Builder encrypted(ImageKey key, int keyNumber) {
    return manifestFor(key, bytes(key.seq(), 1000))
        .encryption(Map.of("scheme", ImageCipher.SCHEME, "keyId", keyId(keyNumber)));
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertRefused(ImageManifest m, ImageKey expected) {
    return assertThatThrownBy(() -> auth.verify(m, expected))
        .isInstanceOfSatisfying(ManifestAuthenticationException.class, e -> assertThat(e.image()).isEqualTo(expected))
        .hasMessageStartingWith("the manifest of image " + expected + " is not authentic: ");
  }

  @Test
  void aSignedManifestVerifiesAlsoAfterAJsonRoundTrip() throws Exception {
    ImageManifest signed = auth.sign(encrypted(IMAGE, 1).build());

    assertThat(signed.mac()).matches("[0-9a-f]{64}");
    assertThat(signed.withMac(null)).isEqualTo(encrypted(IMAGE, 1).build());
    assertThatCode(() -> auth.verify(signed, IMAGE)).doesNotThrowAnyException();
    ImageManifest read = ManifestJson.fromJson(ManifestJson.toJson(signed), "m");
    assertThatCode(() -> auth.verify(read, IMAGE)).doesNotThrowAnyException();
  }

  @Test
  void theMacIsDeterministicAndIgnoresMapOrder() {
    Map<String, String> ab = new LinkedHashMap<>();
    ab.put("kind", "signal");
    ab.put("signal", "go");
    Map<String, String> ba = new LinkedHashMap<>();
    ba.put("signal", "go");
    ba.put("kind", "signal");

    String one = auth.sign(encrypted(IMAGE, 1).waitFor(ab).build()).mac();
    String again = auth.sign(encrypted(IMAGE, 1).waitFor(ab).build()).mac();
    String reordered = auth.sign(encrypted(IMAGE, 1).waitFor(ba).build()).mac();
    String resigned = auth.sign(auth.sign(encrypted(IMAGE, 1).waitFor(ab).build())).mac();

    assertThat(List.of(again, reordered, resigned)).containsOnly(one);
  }

  @Test
  void theMacKeyIsNotTheImageKeyItself() throws Exception {
    ImageManifest m = encrypted(IMAGE, 1).build();
    javax.crypto.Mac plain = javax.crypto.Mac.getInstance("HmacSHA256");
    plain.init(new javax.crypto.spec.SecretKeySpec(TestKeys.rawKey(1), "HmacSHA256"));
    String underImageKey = java.util.HexFormat.of().formatHex(plain.doFinal(ManifestJson.toCanonicalJson(m)));

    assertThat(auth.sign(m).mac()).isNotEqualTo(underImageKey);
  }

  @Test
  void aChangedFieldIsRefused() {
    ImageManifest signed = auth.sign(encrypted(IMAGE, 1).build());
    ImageManifest good = encrypted(IMAGE, 1).mac(signed.mac()).build();
    assertThatCode(() -> auth.verify(good, IMAGE)).doesNotThrowAnyException();

    List<ImageManifest> altered =
        List.of(
            encrypted(IMAGE, 1).mac(signed.mac()).sha256("0".repeat(64)).build(),
            encrypted(IMAGE, 1).mac(signed.mac()).packedBytes(signed.packedBytes() + 1).build(),
            encrypted(IMAGE, 1).mac(signed.mac()).waitFor(Map.of("kind", "timer", "wakeAt", "2099-01-01T00:00:00Z")).build(),
            encrypted(IMAGE, 1).mac(signed.mac()).createdAt("2025-01-02T03:04:06Z").build(),
            encrypted(IMAGE, 1).mac(signed.mac()).encryption(Map.of("scheme", "NONE", "keyId", keyId(1))).build());
    for (ImageManifest m : altered) {
      assertRefused(m, IMAGE)
          .hasMessageContaining("its mac does not match its content under image key " + keyId(1))
          .hasMessageContaining("altered");
    }
  }

  @Test
  void aChangedSeqOrWorkflowIsRefused() {
    ImageManifest signed = auth.sign(encrypted(IMAGE, 1).build());
    ImageKey next = new ImageKey(IMAGE.workflowId(), IMAGE.seq() + 1);

    // Edited to claim another seq: the mac no longer matches, whichever image is asked for.
    ImageManifest reseq = encrypted(IMAGE, 1).mac(signed.mac()).seq(next.seq()).build();
    assertRefused(reseq, next).hasMessageContaining("its mac does not match");
    assertRefused(reseq, IMAGE).hasMessageContaining("its mac does not match");
    ImageManifest renamed = encrypted(IMAGE, 1).mac(signed.mac()).workflowId("wf-other").build();
    assertRefused(renamed, new ImageKey("wf-other", IMAGE.seq())).hasMessageContaining("its mac does not match");
  }

  @Test
  void aSwappedManifestIsRefused() {
    ImageKey other = new ImageKey(IMAGE.workflowId(), IMAGE.seq() + 1);
    ImageManifest otherSigned = auth.sign(encrypted(other, 1).build());
    ImageKey elsewhere = new ImageKey("wf-elsewhere", IMAGE.seq());
    ImageManifest elsewhereSigned = auth.sign(encrypted(elsewhere, 1).build());

    assertRefused(otherSigned, IMAGE)
        .hasMessageContaining("it is the signed manifest of image " + other + ", put in the place of " + IMAGE);
    assertRefused(elsewhereSigned, IMAGE).hasMessageContaining("signed manifest of image " + elsewhere);
  }

  @Test
  void aMissingMacIsRefused() {
    assertRefused(encrypted(IMAGE, 1).build(), IMAGE)
        .hasMessageContaining("it has no mac")
        .hasMessageContaining("restores only signed images");
    assertRefused(manifestFor(IMAGE, bytes(1, 10)).build(), IMAGE).hasMessageContaining("it has no mac");
  }

  @Test
  void aMacWithoutAKeyIdIsRefused() {
    ImageManifest signed = auth.sign(encrypted(IMAGE, 1).build());

    assertRefused(encrypted(IMAGE, 1).mac(signed.mac()).encryption(null).build(), IMAGE)
        .hasMessageContaining("no encryption.keyId");
    assertRefused(encrypted(IMAGE, 1).mac("zz".repeat(32)).build(), IMAGE).hasMessageContaining("not hex");
  }

  @Test
  void aManifestSignedWithAnUnknownKeyIsRefusedNamingIt() {
    ImageManifest byOther = new ManifestAuth(keyring(2)).sign(encrypted(IMAGE, 2).build());

    assertRefused(byOther, IMAGE)
        .hasMessageContaining("signed with the image key " + keyId(2) + ", which this worker does not hold")
        .hasMessageContaining("[" + keyId(1) + "]")
        .hasMessageContaining("add the key that wrote it to the key file");
  }

  @Test
  void aMacOfAnotherKeyUnderAKnownKeyIdIsRefused() {
    // Signed with key 2 but claiming key 1: an attacker holding some other key.
    ImageManifest forged = new ManifestAuth(keyring(1, 2)).sign(encrypted(IMAGE, 2).build());

    assertRefused(encrypted(IMAGE, 1).mac(forged.mac()).build(), IMAGE).hasMessageContaining("its mac does not match");
  }

  @Test
  void rotationKeepsOlderManifestsVerifiable() {
    ImageManifest old = auth.sign(encrypted(IMAGE, 1).build());
    ManifestAuth rotated = new ManifestAuth(keyring(2, 1));

    assertThatCode(() -> rotated.verify(old, IMAGE)).doesNotThrowAnyException();
    ImageManifest fresh = rotated.sign(encrypted(IMAGE, 2).build());
    assertThatCode(() -> rotated.verify(fresh, IMAGE)).doesNotThrowAnyException();
    assertThatThrownBy(() -> new ManifestAuth(keyring(2)).verify(old, IMAGE))
        .isInstanceOf(ManifestAuthenticationException.class)
        .hasMessageContaining(keyId(1));
  }

  @Test
  void signingNeedsAnEncryptionKeyIdThatTheKeyringHolds() {
    assertThatThrownBy(() -> auth.sign(manifestFor(IMAGE, bytes(1, 10)).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot sign the manifest of image " + IMAGE + ": it has no encryption.keyId");
    assertThatThrownBy(() -> auth.sign(encrypted(IMAGE, 5).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("its key " + keyId(5) + " is not in the environment variable TORPOR_TEST_IMAGE_KEYS");
  }

  @Test
  void theSignedManifestIsStillValidJson() throws Exception {
    ImageManifest signed = auth.sign(encrypted(IMAGE, 1).build());

    String json = new String(ManifestJson.toJson(signed), StandardCharsets.UTF_8);

    assertThat(json).contains("\"mac\" : \"" + signed.mac() + "\"").contains("\"keyId\" : \"" + keyId(1) + "\"");
    assertThat(ManifestJson.fromJson(ManifestJson.toJson(signed), "m")).isEqualTo(signed);
  }
}
