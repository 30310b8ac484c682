package dev.torpor.storage;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * What is known of one committed image, stored as JSON beside its data. Written last: an
 * image without a manifest does not exist.
 *
 * @param format the image format: {@value #FORMAT_TAR} (one tar+zstd object per image) or
 *     {@value #FORMAT_CHUNKED} (the image's files cut into chunks; only chunks its workflow's
 *     earlier images do not hold are stored with it, see {@link Chunks})
 * @param workflowId the workflow
 * @param seq the checkpoint's sequence number, from 1
 * @param createdAt when the image was committed (ISO-8601 instant)
 * @param sha256 hex SHA-256 of the packed data, checked before every restore; for a chunked image,
 *     of its chunk index as stored (the index holds the SHA-256 of every frame of chunks it uses)
 * @param rawBytes the size of the image files before packing
 * @param packedBytes the size of the packed data: for a chunked image, of its own data object
 *     (its new chunks and its index), not of the chunks it shares with earlier images
 * @param compression how the data is packed ("tar+zstd")
 * @param engine the checkpoint engine ("criu") and its version
 * @param jdk the JDK of the dumped JVM: vendor, version, home
 * @param cpuFlags the CPU feature flags of the dumping machine
 * @param waitFor what the workflow waits for: kind, wakeAt (ISO instant), signal; stored under
 *     the JSON key {@code "wait"} (a record component may not be named {@code wait}, which would
 *     clash with {@link Object#wait()})
 * @param restore what the engine needs to restore it (e.g. the stdout pipe's inode)
 * @param timingsMillis how long each phase took (freeze+dump, pack+upload, ...)
 * @param encryption how the packed data is encrypted, or null when it is not: {@code scheme}
 *     ({@code "AES256_GCM_HKDF_1MB"}) and {@code keyId}, the id of the image key that encrypted it
 *     and that made {@code mac} (never the key itself). {@code sha256} and {@code packedBytes} are
 *     then of the ciphertext, the bytes as stored
 * @param mac hex HMAC-SHA256 of the manifest's {@linkplain ManifestJson#toCanonicalJson canonical
 *     form}, under a key derived from the image key named by {@code encryption.keyId}; null when
 *     the writer had no image key. See {@code dev.torpor.storage.crypto.ManifestAuth}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ImageManifest(
    int format,
    String workflowId,
    long seq,
    String createdAt,
    String sha256,
    long rawBytes,
    long packedBytes,
    String compression,
    Map<String, String> engine,
    Map<String, String> jdk,
    List<String> cpuFlags,
    @JsonProperty("wait") Map<String, String> waitFor,
    Map<String, String> restore,
    Map<String, Double> timingsMillis,
    Map<String, String> encryption,
    String mac,
    Chunks chunks) {

  /** Format 1: the image is one tar+zstd object. Still read and, on request, written. */
  public static final int FORMAT_TAR = 1;

  /** Format 2: the image's files are chunks in frames of its own and earlier data objects. */
  public static final int FORMAT_CHUNKED = 2;

  /** The newest format this version of Torpor reads and writes. */
  public static final int FORMAT = FORMAT_CHUNKED;

  /**
   * Where a chunked image's index is, and which data objects its chunks are in.
   *
   * @param indexOffset where the index starts in the image's own data object; it runs to the
   *     object's end ({@code packedBytes})
   * @param packs the seqs of the workflow's data objects the image reads, ascending, its own
   *     included: the garbage collector keeps these objects while the image exists
   * @param shared the ids of the shared packs ({@link SharedPacks}) the image reads frames from,
   *     and those of the image it grew from (the collector finds every pack a workflow refers to
   *     through {@link SharedPacks#referredBy}); null when none (and in
   *     manifests written before shared packs), so that such a manifest's canonical form is unchanged
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Chunks(long indexOffset, List<Long> packs, List<String> shared) {
    /** A chunked image that reads no shared pack. */
    public Chunks(long indexOffset, List<Long> packs) {
      this(indexOffset, packs, null);
    }

    /** {@link #shared}, empty rather than null. */
    public List<String> sharedPacks() {
      return shared == null ? List.of() : shared;
    }
  }

  /** Whether the image is chunked (format 2). */
  public boolean chunked() {
    return format == FORMAT_CHUNKED;
  }

  /** The seqs of the data objects this image reads: {@link Chunks#packs()}, or its own seq. */
  public List<Long> packSeqs() {
    return chunks == null ? List.of(seq) : chunks.packs();
  }

  /**
   * The key this manifest describes.
   *
   * @throws IllegalArgumentException if the workflow id or seq is invalid
   */
  public ImageKey key() {
    return new ImageKey(workflowId, seq);
  }

  /** A copy of this manifest with {@code mac} replaced (null removes it). */
  public ImageManifest withMac(String mac) {
    return new ImageManifest(format, workflowId, seq, createdAt, sha256, rawBytes, packedBytes,
        compression, engine, jdk, cpuFlags, waitFor, restore, timingsMillis, encryption, mac, chunks);
  }
}
