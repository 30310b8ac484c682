package dev.torpor.storage;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.torpor.WorkflowId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads and writes {@link ImageManifest}s as pretty-printed UTF-8 JSON, with one shared,
 * thread-safe Jackson mapper. Reading is strict: a manifest that is truncated, is not JSON, has
 * another {@link ImageManifest#FORMAT format}, or breaks a rule of {@link #validate} throws a
 * {@link CorruptManifestException} that names the manifest and the offending key. Unknown keys
 * are ignored, so a manifest of the same format may gain optional keys.
 */
public final class ManifestJson {
  /** The keys every manifest has; checked before binding so the message names the key. */
  private static final List<String> REQUIRED =
      List.of("format", "workflowId", "seq", "sha256", "rawBytes", "packedBytes");

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .build();

  /** Compact, every object's keys in order: the form a manifest's mac covers. */
  private static final ObjectMapper CANONICAL =
      JsonMapper.builder().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).build();

  private static final TypeReference<Map<String, Object>> TREE = new TypeReference<>() {};

  private ManifestJson() {}

  /**
   * The manifest as pretty-printed UTF-8 JSON. Does not validate: {@link #validate} does.
   *
   * @throws UncheckedIOException if Jackson fails, which a record of strings, numbers, lists and
   *     maps never makes it do
   */
  public static byte[] toJson(ImageManifest manifest) {
    Objects.requireNonNull(manifest, "manifest");
    try {
      return MAPPER.writeValueAsBytes(manifest);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write the manifest of image " + describeKey(manifest), e);
    }
  }

  /**
   * The bytes a manifest's {@link ImageManifest#mac() mac} covers: the manifest without its
   * {@code mac}, as compact UTF-8 JSON (no white space), the keys of every object, nested ones
   * too, in ascending order, null values left out, lists in their order. Two manifests with equal
   * values give equal bytes whatever the order of their maps, and a manifest read back from its
   * JSON gives the bytes it gave before it was written.
   *
   * @throws UncheckedIOException if Jackson fails, which a record of strings, numbers, lists and
   *     maps never makes it do
   */
  public static byte[] toCanonicalJson(ImageManifest manifest) {
    Objects.requireNonNull(manifest, "manifest");
    try {
      // Through a tree of maps, so the order is the keys' and not the record's or Jackson's.
      Map<String, Object> tree = CANONICAL.convertValue(manifest.withMac(null), TREE);
      return CANONICAL.writeValueAsBytes(tree);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(
          "cannot write the canonical form of the manifest of image " + describeKey(manifest), e);
    }
  }

  /** Same as {@link #fromJson(byte[], String)} for a manifest without a name. */
  public static ImageManifest fromJson(byte[] json) throws CorruptManifestException {
    return fromJson(json, "(unnamed)");
  }

  /**
   * Parses and validates a manifest.
   *
   * @param json the manifest's bytes, UTF-8 JSON
   * @param where which manifest this is (a path or object key), for the error message
   * @throws CorruptManifestException if the manifest is truncated, not JSON, of another format or
   *     invalid; the message names {@code where} and the offending key
   */
  public static ImageManifest fromJson(byte[] json, String where) throws CorruptManifestException {
    if (json == null || json.length == 0) {
      throw new CorruptManifestException(where, "it is empty (was its write cut short?)");
    }
    JsonNode tree = readTree(json, where);
    if (tree == null || tree.isMissingNode()) {
      throw new CorruptManifestException(where, "it holds no JSON value, only white space");
    }
    if (!tree.isObject()) {
      throw new CorruptManifestException(
          where, "expected a JSON object but found " + tree.getNodeType().name().toLowerCase());
    }
    checkFormat(tree.get("format"), where);
    for (String key : REQUIRED) {
      if (!tree.has(key) || tree.get(key).isNull()) {
        throw new CorruptManifestException(where, "key '" + key + "' is missing");
      }
    }
    ImageManifest manifest;
    try {
      manifest = MAPPER.treeToValue(tree, ImageManifest.class);
    } catch (JsonMappingException e) {
      throw new CorruptManifestException(
          where, "key '" + pathOf(e) + "' has the wrong type: " + e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new CorruptManifestException(where, e.getOriginalMessage(), e);
    }
    validate(manifest, where);
    return manifest;
  }

  /**
   * Checks the rules every stored manifest keeps: the current format, a valid workflow id, a seq
   * from 1, a sha256 of 64 lowercase hex characters, sizes from 0, and if present an {@code
   * encryption} naming its {@code scheme} and {@code keyId} and a {@code mac} of 64 lowercase hex
   * characters. Whether the scheme is known and the mac right is for the reader's keys to say.
   *
   * @param where which manifest this is, for the error message
   * @throws CorruptManifestException naming the first key that breaks a rule
   */
  public static void validate(ImageManifest manifest, String where) throws CorruptManifestException {
    if (manifest == null) {
      throw new CorruptManifestException(where, "it is JSON null, not an object");
    }
    if (!readable(manifest.format())) {
      throw new CorruptManifestException(where, formatProblem(manifest.format()));
    }
    try {
      WorkflowId.of(manifest.workflowId());
    } catch (IllegalArgumentException e) {
      throw new CorruptManifestException(where, "key 'workflowId': " + e.getMessage(), e);
    }
    if (manifest.seq() < 1) {
      throw new CorruptManifestException(where, "key 'seq' must be >= 1, found " + manifest.seq());
    }
    if (manifest.sha256() == null || !SHA256.matcher(manifest.sha256()).matches()) {
      throw new CorruptManifestException(
          where,
          "key 'sha256' must be 64 lowercase hex characters (the SHA-256 of the packed data), found "
              + quoted(manifest.sha256()));
    }
    checkSize("rawBytes", manifest.rawBytes(), where);
    checkSize("packedBytes", manifest.packedBytes(), where);
    if (manifest.encryption() != null) {
      for (String entry : List.of("scheme", "keyId")) {
        String value = manifest.encryption().get(entry);
        if (value == null || value.isBlank()) {
          throw new CorruptManifestException(
              where, "key 'encryption." + entry + "' is missing; an encrypted image names its scheme and keyId");
        }
      }
    }
    checkChunks(manifest, where);
    if (manifest.mac() != null && !SHA256.matcher(manifest.mac()).matches()) {
      throw new CorruptManifestException(
          where,
          "key 'mac' must be 64 lowercase hex characters (an HMAC-SHA256), found " + quoted(manifest.mac()));
    }
  }

  private static JsonNode readTree(byte[] json, String where) throws CorruptManifestException {
    try {
      return MAPPER.readTree(json);
    } catch (JsonEOFException e) {
      throw new CorruptManifestException(
          where, "the JSON ends early" + at(e.getLocation()) + " (truncated write?): " + e.getOriginalMessage(), e);
    } catch (StreamReadException e) {
      throw new CorruptManifestException(
          where, "it is not valid JSON" + at(e.getLocation()) + ": " + e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new CorruptManifestException(where, "it is not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new CorruptManifestException(where, "it cannot be read as JSON: " + e.getMessage(), e);
    }
  }

  private static void checkFormat(JsonNode format, String where) throws CorruptManifestException {
    if (format == null || format.isNull()) {
      throw new CorruptManifestException(
          where, "key 'format' is missing; every Torpor manifest has one (is this a Torpor manifest?)");
    }
    if (!format.isIntegralNumber() || !format.canConvertToInt()) {
      throw new CorruptManifestException(
          where, "key 'format' must be a whole number, found " + quoted(format.toString()));
    }
    if (!readable(format.intValue())) {
      throw new CorruptManifestException(where, formatProblem(format.intValue()));
    }
  }

  private static boolean readable(int format) {
    return format == ImageManifest.FORMAT_TAR || format == ImageManifest.FORMAT_CHUNKED;
  }

  /** A chunked image says where its index is and which data objects it reads; a tar image says neither. */
  private static void checkChunks(ImageManifest manifest, String where) throws CorruptManifestException {
    ImageManifest.Chunks chunks = manifest.chunks();
    if (!manifest.chunked()) {
      if (chunks != null) {
        throw new CorruptManifestException(where, "key 'chunks' belongs to format " + ImageManifest.FORMAT_CHUNKED
            + " images, but this one is format " + manifest.format());
      }
      return;
    }
    if (chunks == null) {
      throw new CorruptManifestException(where, "key 'chunks' is missing; a format " + ImageManifest.FORMAT_CHUNKED
          + " image says where its index is and which data objects it reads");
    }
    if (chunks.indexOffset() < 0 || chunks.indexOffset() >= manifest.packedBytes()) {
      throw new CorruptManifestException(where, "key 'chunks.indexOffset' must be from 0 to below packedBytes ("
          + manifest.packedBytes() + "), found " + chunks.indexOffset());
    }
    List<Long> packs = chunks.packs();
    if (packs == null || packs.isEmpty() || !Objects.equals(packs.get(packs.size() - 1), manifest.seq())) {
      throw new CorruptManifestException(where, "key 'chunks.packs' must list the seqs of the data objects the image"
          + " reads, ascending, ending with its own seq " + manifest.seq() + ", found " + packs);
    }
    for (int i = 0; i < packs.size(); i++) {
      Long p = packs.get(i);
      if (p == null || p < 1 || (i > 0 && p <= packs.get(i - 1))) {
        throw new CorruptManifestException(where, "key 'chunks.packs' must hold ascending seqs from 1, found " + packs);
      }
    }
    List<String> shared = chunks.shared();
    if (shared != null) {
      if (shared.isEmpty() || shared.size() > SharedPacks.MAX_PER_WORKFLOW
          || shared.stream().anyMatch(id -> id == null || !SharedPacks.isId(id)) || Set.copyOf(shared).size() != shared.size()) {
        throw new CorruptManifestException(where, "key 'chunks.shared' must list 1 to " + SharedPacks.MAX_PER_WORKFLOW
            + " distinct shared pack ids (32 hex digits each), or be left out, found " + shared);
      }
    }
  }

  private static String formatProblem(int format) {
    String prefix = "key 'format' is " + format + " but this Torpor reads formats " + ImageManifest.FORMAT_TAR
        + " and " + ImageManifest.FORMAT_CHUNKED + ": ";
    if (format > ImageManifest.FORMAT) {
      return prefix + "the manifest was written by a newer Torpor; upgrade Torpor to use this image";
    }
    return prefix
        + "the manifest was written by an older Torpor; use that version to restore the image,"
        + " or delete it";
  }

  private static void checkSize(String key, long value, String where) throws CorruptManifestException {
    if (value < 0) {
      throw new CorruptManifestException(where, "key '" + key + "' must be >= 0, found " + value);
    }
  }

  private static String pathOf(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (path.length() > 0) {
          path.append('.');
        }
        path.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      }
    }
    return path.length() == 0 ? "(top level)" : path.toString();
  }

  private static String at(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  private static String quoted(String value) {
    if (value == null) {
      return "nothing";
    }
    String shown = value.length() > 80 ? value.substring(0, 80) + "..." : value;
    return "'" + shown + "'";
  }

  private static String describeKey(ImageManifest manifest) {
    return manifest.workflowId() + "#" + manifest.seq();
  }
}
