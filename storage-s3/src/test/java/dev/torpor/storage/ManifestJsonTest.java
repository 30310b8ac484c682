package dev.torpor.storage;

import static dev.torpor.storage.TestManifests.aManifest;
import static dev.torpor.storage.TestManifests.bytes;
import static dev.torpor.storage.TestManifests.manifestFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class ManifestJsonTest {
  private static final String WHERE = "images/wf/00000000000000000001.manifest.json";
  private final ImageKey key = new ImageKey("wf", 1);
  private final ImageManifest manifest = aManifest(key, bytes(1, 1_000));

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(ImageManifest m) {
    return new String(ManifestJson.toJson(m), StandardCharsets.UTF_8);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertCorrupt(byte[] json) {
    return assertThatThrownBy(() -> ManifestJson.fromJson(json, WHERE))
        .isInstanceOf(CorruptManifestException.class)
        .hasMessageStartingWith("corrupt manifest " + WHERE + ": ")
        .satisfies(e -> assertThat(((CorruptManifestException) e).where()).isEqualTo(WHERE));
  }

  @Test
  void roundTripsEveryField() throws Exception {
    ImageManifest withUnicode =
        manifestFor(key, bytes(1, 1_000)).waitFor(Map.of("kind", "signal", "signal", "apprové ✓")).build();

    assertThat(ManifestJson.fromJson(ManifestJson.toJson(manifest))).isEqualTo(manifest);
    assertThat(ManifestJson.fromJson(ManifestJson.toJson(withUnicode), WHERE)).isEqualTo(withUnicode);
  }

  @Test
  void writesPrettyPrintedUtf8WithTheWaitKey() {
    ImageManifest m = manifestFor(key, bytes(1, 10)).waitFor(Map.of("signal", "é")).build();

    String json = text(m);

    assertThat(json).startsWith("{\n  \"format\" : 1,").contains("\"wait\" : {").doesNotContain("waitFor");
    assertThat(ManifestJson.toJson(m)).containsSequence(utf8("\"é\""));
  }

  @Test
  void roundTripsAMinimalManifestAndOmitsNulls() throws Exception {
    ImageManifest minimal =
        new ImageManifest(
            ImageManifest.FORMAT_TAR, "wf", 1, null, "0".repeat(64), 0, 0, null, null, null, null, null, null, null, null, null,
            null);

    assertThat(text(minimal)).doesNotContain("null");
    assertThat(ManifestJson.fromJson(ManifestJson.toJson(minimal))).isEqualTo(minimal);
  }

  @Test
  void ignoresUnknownKeysOfTheSameFormat() throws Exception {
    String json = text(manifest).replaceFirst("\\{", "{ \"addedLater\" : { \"x\" : [1, 2] },");

    assertThat(ManifestJson.fromJson(utf8(json))).isEqualTo(manifest);
  }

  @Test
  void truncatedJsonIsCorrupt() {
    byte[] json = ManifestJson.toJson(manifest);

    assertCorrupt(Arrays.copyOf(json, json.length / 2)).hasMessageContaining("truncated");
    assertCorrupt(Arrays.copyOf(json, json.length - 1)).hasMessageContaining("ends early");
  }

  @Test
  void emptyOrBlankInputIsCorrupt() {
    assertCorrupt(new byte[0]).hasMessageContaining("empty");
    assertCorrupt(utf8("  \n")).hasMessageContaining("no JSON value");
  }

  @Test
  void garbageIsCorrupt() {
    assertCorrupt(utf8("PK\u0003\u0004 this is a zip")).hasMessageContaining("not valid JSON");
    assertCorrupt(new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1}).hasMessageContaining("not valid JSON");
    assertCorrupt(utf8(text(manifest) + "}")).hasMessageContaining("not valid JSON");
    assertCorrupt(utf8("[1, 2]")).hasMessageContaining("expected a JSON object but found array");
    assertCorrupt(utf8("null")).hasMessageContaining("found null");
  }

  @Test
  void aDuplicateKeyIsCorrupt() {
    String json = text(manifest).replaceFirst("\\{", "{ \"seq\" : 2,");

    assertCorrupt(utf8(json)).hasMessageContaining("Duplicate field 'seq'");
  }

  @Test
  void aNewerFormatSaysToUpgrade() {
    // A newer format may change shapes: the format is checked before anything else.
    String json =
        text(manifest)
            .replace("\"format\" : 1", "\"format\" : 3")
            .replace("\"seq\" : 1", "\"seq\" : { \"new\" : \"shape\" }");

    assertCorrupt(utf8(json))
        .hasMessageContaining("key 'format' is 3 but this Torpor reads formats 1 and 2")
        .hasMessageContaining("newer Torpor");
  }

  @Test
  void anOlderFormatSaysSo() {
    assertCorrupt(ManifestJson.toJson(manifestFor(key, new byte[0]).format(0).build()))
        .hasMessageContaining("key 'format' is 0")
        .hasMessageContaining("older Torpor");
  }

  @Test
  void aMissingOrMistypedFormatIsCorrupt() {
    assertCorrupt(utf8(text(manifest).replace("\"format\" : 1,", "")))
        .hasMessageContaining("key 'format' is missing");
    assertCorrupt(utf8(text(manifest).replace("\"format\" : 1", "\"format\" : \"1\"")))
        .hasMessageContaining("key 'format' must be a whole number");
  }

  @Test
  void aBadSha256IsCorrupt() {
    String good = manifest.sha256();
    for (String bad : new String[] {good.toUpperCase(), good.substring(1), good + "0", "z".repeat(64)}) {
      assertCorrupt(ManifestJson.toJson(manifestFor(key, new byte[0]).sha256(bad).build()))
          .hasMessageContaining("key 'sha256' must be 64 lowercase hex characters")
          .hasMessageContaining(bad.substring(0, 10));
    }
  }

  @Test
  void aMissingKeyIsNamed() {
    String json = text(manifest).replaceAll("\"sha256\" : \"[0-9a-f]+\",", "");

    assertCorrupt(utf8(json)).hasMessageContaining("key 'sha256' is missing");
  }

  @Test
  void aKeyOfTheWrongTypeIsNamed() {
    assertCorrupt(utf8(text(manifest).replace("\"seq\" : 1", "\"seq\" : \"one\"")))
        .hasMessageContaining("key 'seq' has the wrong type");
    assertCorrupt(utf8(text(manifest).replace("\"seq\" : 1", "\"seq\" : 1.5")))
        .hasMessageContaining("key 'seq'");
    assertCorrupt(utf8(text(manifest).replace("\"cpuFlags\" : [", "\"cpuFlags\" : [ [ ], ")))
        .hasMessageContaining("key 'cpuFlags[0]'");
  }

  @Test
  void invalidValuesAreNamed() {
    byte[] none = new byte[0];
    assertCorrupt(ManifestJson.toJson(manifestFor(key, none).seq(0).build()))
        .hasMessageContaining("key 'seq' must be >= 1, found 0");
    assertCorrupt(ManifestJson.toJson(manifestFor(key, none).workflowId("../etc").build()))
        .hasMessageContaining("key 'workflowId': invalid workflow id '../etc'");
    assertCorrupt(ManifestJson.toJson(manifestFor(key, none).packedBytes(-1).build()))
        .hasMessageContaining("key 'packedBytes' must be >= 0, found -1");
    assertCorrupt(ManifestJson.toJson(manifestFor(key, none).rawBytes(-5).build()))
        .hasMessageContaining("key 'rawBytes' must be >= 0, found -5");
  }

  @Test
  void roundTripsEncryptionAndMac() throws Exception {
    ImageManifest sealed =
        manifestFor(key, bytes(1, 10))
            .encryption(Map.of("scheme", "AES256_GCM_HKDF_1MB", "keyId", "0123456789abcdef"))
            .mac("ab".repeat(32))
            .build();

    assertThat(text(sealed)).contains("\"encryption\" : {").contains("\"mac\" : \"" + "ab".repeat(32) + "\"");
    assertThat(ManifestJson.fromJson(ManifestJson.toJson(sealed), WHERE)).isEqualTo(sealed);
    assertThat(text(manifest)).doesNotContain("encryption").doesNotContain("mac");
  }

  @Test
  void anEncryptionWithoutSchemeOrKeyIdIsCorrupt() {
    byte[] none = new byte[0];
    assertCorrupt(ManifestJson.toJson(manifestFor(key, none).encryption(Map.of("keyId", "0123456789abcdef")).build()))
        .hasMessageContaining("key 'encryption.scheme' is missing");
    assertCorrupt(ManifestJson.toJson(manifestFor(key, none).encryption(Map.of("scheme", "X", "keyId", " ")).build()))
        .hasMessageContaining("key 'encryption.keyId' is missing");
  }

  @Test
  void aBadMacIsCorrupt() {
    for (String bad : new String[] {"AB".repeat(32), "ab".repeat(31), "", "zz".repeat(32)}) {
      assertCorrupt(ManifestJson.toJson(manifestFor(key, new byte[0]).mac(bad).build()))
          .hasMessageContaining("key 'mac' must be 64 lowercase hex characters");
    }
  }

  @Test
  void theCanonicalFormIsCompactSortedAndLeavesOutTheMac() {
    ImageManifest signed = manifestFor(key, bytes(1, 10)).mac("ab".repeat(32)).build();

    String canonical = new String(ManifestJson.toCanonicalJson(signed), StandardCharsets.UTF_8);

    assertThat(canonical)
        .startsWith("{\"compression\":\"tar+zstd\",\"cpuFlags\":[\"sse4_2\",\"avx2\"],\"createdAt\":")
        .contains("\"jdk\":{\"home\":\"/opt/jdk-17\",\"vendor\":\"Eclipse Adoptium\",\"version\":\"17.0.15\"}")
        .contains("\"timingsMillis\":{\"freezeAndDump\":41.5,\"packAndUpload\":12.25}")
        .contains("\"wait\":{\"kind\":\"timer\",\"wakeAt\":")
        .doesNotContain("mac")
        .doesNotContain("null")
        .doesNotContain("\" :")
        .doesNotContain(", ")
        .doesNotContain("\n");
    assertThat(ManifestJson.toCanonicalJson(signed)).isEqualTo(ManifestJson.toCanonicalJson(signed.withMac(null)));
  }

  @Test
  void theCanonicalFormDoesNotDependOnMapOrderOrOnAJsonRoundTrip() throws Exception {
    Map<String, String> ab = new LinkedHashMap<>();
    ab.put("kind", "signal");
    ab.put("signal", "apprové ✓");
    Map<String, String> ba = new LinkedHashMap<>();
    ba.put("signal", "apprové ✓");
    ba.put("kind", "signal");
    ImageManifest one = manifestFor(key, bytes(1, 10)).waitFor(ab).build();
    ImageManifest other = manifestFor(key, bytes(1, 10)).waitFor(ba).build();

    assertThat(ManifestJson.toJson(one)).isNotEqualTo(ManifestJson.toJson(other));
    assertThat(ManifestJson.toCanonicalJson(one)).isEqualTo(ManifestJson.toCanonicalJson(other));
    assertThat(ManifestJson.toCanonicalJson(ManifestJson.fromJson(ManifestJson.toJson(one))))
        .isEqualTo(ManifestJson.toCanonicalJson(one));
    assertThat(ManifestJson.toCanonicalJson(manifestFor(key, bytes(1, 10)).waitFor(Map.of("kind", "signal")).build()))
        .as("a changed value changes the canonical form")
        .isNotEqualTo(ManifestJson.toCanonicalJson(one));
    assertThat(List.of(one, other)).allSatisfy(m -> ManifestJson.validate(m, WHERE));
  }

  @Test
  void aChunkedManifestRoundTripsWithItsChunks() throws Exception {
    ImageKey third = new ImageKey("wf", 3);
    ImageManifest chunked = manifestFor(third, bytes(3, 1_000)).chunked(900, List.of(1L, 2L, 3L)).build();

    String json = text(chunked);

    assertThat(json)
        .contains("\"format\" : 2,")
        .contains("\"chunks\" : {")
        .contains("\"indexOffset\" : 900,")
        .contains("\"packs\" : [ 1, 2, 3 ]");
    ImageManifest read = ManifestJson.fromJson(utf8(json), WHERE);
    assertThat(read).isEqualTo(chunked);
    assertThat(read.chunked()).isTrue();
    assertThat(read.chunks()).isEqualTo(new ImageManifest.Chunks(900, List.of(1L, 2L, 3L)));
    assertThat(read.packSeqs()).containsExactly(1L, 2L, 3L);
    assertThat(ManifestJson.toCanonicalJson(read)).isEqualTo(ManifestJson.toCanonicalJson(chunked));
    assertThat(new String(ManifestJson.toCanonicalJson(chunked), StandardCharsets.UTF_8))
        .contains("\"chunks\":{\"indexOffset\":900,\"packs\":[1,2,3]}");
  }

  @Test
  void aChunkedManifestNamesTheSharedPacksItsWorkflowRefersTo() throws Exception {
    String pack = "0123456789abcdef0123456789abcdef";
    ImageManifest plain = manifestFor(new ImageKey("wf", 3), bytes(3, 1_000)).chunked(900, List.of(1L, 3L)).build();
    ImageManifest shared = new ImageManifest(plain.format(), plain.workflowId(), plain.seq(), plain.createdAt(),
        plain.sha256(), plain.rawBytes(), plain.packedBytes(), plain.compression(), plain.engine(), plain.jdk(),
        plain.cpuFlags(), plain.waitFor(), plain.restore(), plain.timingsMillis(), plain.encryption(), plain.mac(),
        new ImageManifest.Chunks(900, List.of(1L, 3L), List.of(pack)));

    ImageManifest read = ManifestJson.fromJson(utf8(text(shared)), WHERE);
    assertThat(read).isEqualTo(shared);
    assertThat(read.chunks().sharedPacks()).containsExactly(pack);
    assertThat(new String(ManifestJson.toCanonicalJson(shared), StandardCharsets.UTF_8))
        .contains("\"chunks\":{\"indexOffset\":900,\"packs\":[1,3],\"shared\":[\"" + pack + "\"]}");
    assertThat(plain.chunks().sharedPacks()).isEmpty();

    for (String bad : List.of("[]", "[\"xyz\"]", "[\"" + pack + "\", \"" + pack + "\"]")) {
      String json = text(shared).replace("[ \"" + pack + "\" ]", bad);
      assertThat(json).contains(bad);
      assertThatThrownBy(() -> ManifestJson.fromJson(utf8(json), WHERE))
          .isInstanceOf(CorruptManifestException.class)
          .hasMessageContaining("key 'chunks.shared' must list 1 to 64 distinct shared pack ids");
    }
  }

  @Test
  void aTarManifestReadsOnlyItsOwnDataObject() throws Exception {
    ImageManifest tar = ManifestJson.fromJson(ManifestJson.toJson(aManifest(new ImageKey("wf", 7), bytes(7, 10))));

    assertThat(tar.chunked()).isFalse();
    assertThat(tar.chunks()).isNull();
    assertThat(tar.packSeqs()).containsExactly(7L);
  }

  @Test
  void aChunkedManifestWithoutChunksIsCorrupt() {
    assertCorrupt(ManifestJson.toJson(manifestFor(key, bytes(1, 100)).format(ImageManifest.FORMAT_CHUNKED).build()))
        .hasMessageContaining("key 'chunks' is missing");
  }

  @Test
  void chunksInATarManifestAreCorrupt() {
    ImageManifest tarWithChunks =
        manifestFor(key, bytes(1, 100)).chunked(50, List.of(1L)).format(ImageManifest.FORMAT_TAR).build();

    assertCorrupt(ManifestJson.toJson(tarWithChunks))
        .hasMessageContaining("key 'chunks' belongs to format 2 images, but this one is format 1");
  }

  @Test
  void anIndexOffsetOutsideTheDataObjectIsCorrupt() {
    byte[] data = bytes(1, 100);
    for (long offset : new long[] {100, 101, -1}) {
      assertCorrupt(ManifestJson.toJson(manifestFor(key, data).chunked(offset, List.of(1L)).build()))
          .as("indexOffset %s", offset)
          .hasMessageContaining("key 'chunks.indexOffset' must be from 0 to below packedBytes (100), found " + offset);
    }
    assertCorrupt(ManifestJson.toJson(manifestFor(key, new byte[0]).chunked(0, List.of(1L)).build()))
        .as("an empty data object holds no index")
        .hasMessageContaining("key 'chunks.indexOffset'");
    assertThat(List.of(0L, 99L)).allSatisfy(offset ->
        ManifestJson.validate(manifestFor(key, data).chunked(offset, List.of(1L)).build(), WHERE));
  }

  @Test
  void packsThatDoNotEndWithTheImagesOwnSeqAreCorrupt() {
    ImageKey third = new ImageKey("wf", 3);
    byte[] data = bytes(3, 100);
    for (List<Long> packs : List.of(List.of(1L, 2L), List.of(3L, 4L), List.<Long>of())) {
      assertCorrupt(ManifestJson.toJson(manifestFor(third, data).chunked(10, packs).build()))
          .as("packs %s", packs)
          .hasMessageContaining("key 'chunks.packs' must list the seqs of the data objects the image reads")
          .hasMessageContaining("ending with its own seq 3, found " + packs);
    }
    assertCorrupt(ManifestJson.toJson(manifestFor(third, data).chunked(10, null).build()))
        .hasMessageContaining("key 'chunks.packs'");
  }

  @Test
  void packsThatAreNotAscendingSeqsAreCorrupt() {
    ImageKey third = new ImageKey("wf", 3);
    byte[] data = bytes(3, 100);
    for (List<Long> packs : List.of(List.of(2L, 1L, 3L), List.of(1L, 1L, 3L), List.of(0L, 3L), List.of(-1L, 3L))) {
      assertCorrupt(ManifestJson.toJson(manifestFor(third, data).chunked(10, packs).build()))
          .as("packs %s", packs)
          .hasMessageContaining("key 'chunks.packs' must hold ascending seqs from 1, found " + packs);
    }
  }

  @Test
  void aNullOrMistypedPackIsCorrupt() {
    ImageKey third = new ImageKey("wf", 3);
    String json = text(manifestFor(third, bytes(3, 100)).chunked(10, List.of(1L, 3L)).build());

    assertCorrupt(utf8(json.replace("\"packs\" : [ 1, 3 ]", "\"packs\" : [ null, 3 ]")))
        .hasMessageContaining("key 'chunks.packs'");
    assertCorrupt(utf8(json.replace("\"packs\" : [ 1, 3 ]", "\"packs\" : [ 1, null ]")))
        .hasMessageContaining("key 'chunks.packs'");
    assertCorrupt(utf8(json.replace("\"packs\" : [ 1, 3 ]", "\"packs\" : [ 1, \"three\" ]")))
        .hasMessageContaining("key 'chunks.packs[1]'");
    assertCorrupt(utf8(json.replace("\"indexOffset\" : 10", "\"indexOffset\" : \"ten\"")))
        .hasMessageContaining("key 'chunks.indexOffset'");
  }

  @Test
  void theCanonicalFormOfATarManifestHasNoChunksSoOldMacsStayValid() {
    ImageManifest minimal =
        new ImageManifest(
            ImageManifest.FORMAT_TAR, "wf", 1, null, "0".repeat(64), 0, 0, null, null, null, null, null, null, null, null, null,
            null);

    assertThat(new String(ManifestJson.toCanonicalJson(minimal), StandardCharsets.UTF_8))
        .as("the bytes a format 1 mac was made over before format 2 existed")
        .isEqualTo("{\"format\":1,\"packedBytes\":0,\"rawBytes\":0,\"seq\":1,\"sha256\":\"" + "0".repeat(64)
            + "\",\"workflowId\":\"wf\"}");
    assertThat(new String(ManifestJson.toCanonicalJson(manifest), StandardCharsets.UTF_8)).doesNotContain("chunks");
    assertThat(text(manifest)).doesNotContain("chunks");
  }

  @Test
  void validateAcceptsAGoodManifest() throws Exception {
    ManifestJson.validate(manifest, WHERE);

    assertThat(ManifestJson.fromJson(ManifestJson.toJson(manifest), WHERE).key()).isEqualTo(key);
  }
}
