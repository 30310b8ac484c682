package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Test fixtures: manifests that describe real bytes (their SHA-256 and size are computed), and
 * the helpers to check data against them. Shared with other stores' tests through the test-jar.
 */
public final class TestManifests {
  private TestManifests() {}

  /** A valid, fully populated manifest of {@code data} stored under {@code key}. */
  public static ImageManifest aManifest(ImageKey key, byte[] data) {
    return manifestFor(key, data).build();
  }

  /** A builder starting from {@link #aManifest}, to change one field at a time. */
  public static Builder manifestFor(ImageKey key, byte[] data) {
    return new Builder(key, data);
  }

  /** Deterministic pseudo-random bytes: different seeds give different images. */
  public static byte[] bytes(long seed, int size) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** The lowercase hex SHA-256 of {@code data}. */
  public static String sha256Hex(byte[] data) {
    return HexFormat.of().formatHex(sha256().digest(data));
  }

  /** Reads {@code in} to its end and returns the lowercase hex SHA-256 of what it read. */
  public static String sha256Hex(InputStream in) throws IOException {
    MessageDigest sha = sha256();
    byte[] buffer = new byte[64 * 1024];
    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
      sha.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** Builds an {@link ImageManifest}; starts valid and describing the given bytes. */
  public static final class Builder {
    private int format = ImageManifest.FORMAT_TAR;
    private ImageManifest.Chunks chunks;
    private String workflowId;
    private long seq;
    private String createdAt = Instant.parse("2025-01-02T03:04:05Z").toString();
    private String sha256;
    private long rawBytes;
    private long packedBytes;
    private Map<String, String> waitFor = Map.of("kind", "timer", "wakeAt", "2025-01-03T00:00:00Z");
    private Map<String, String> encryption;
    private String mac;

    private Builder(ImageKey key, byte[] data) {
      this.workflowId = key.workflowId();
      this.seq = key.seq();
      this.sha256 = sha256Hex(data);
      this.rawBytes = data.length * 3L;
      this.packedBytes = data.length;
    }

    public Builder format(int format) {
      this.format = format;
      return this;
    }

    public Builder workflowId(String workflowId) {
      this.workflowId = workflowId;
      return this;
    }

    public Builder seq(long seq) {
      this.seq = seq;
      return this;
    }

    public Builder createdAt(String createdAt) {
      this.createdAt = createdAt;
      return this;
    }

    public Builder sha256(String sha256) {
      this.sha256 = sha256;
      return this;
    }

    public Builder rawBytes(long rawBytes) {
      this.rawBytes = rawBytes;
      return this;
    }

    public Builder packedBytes(long packedBytes) {
      this.packedBytes = packedBytes;
      return this;
    }

    public Builder waitFor(Map<String, String> waitFor) {
      this.waitFor = waitFor;
      return this;
    }

    /** How the data is encrypted ({@code scheme}, {@code keyId}); null (the default) for plain data. */
    public Builder encryption(Map<String, String> encryption) {
      this.encryption = encryption;
      return this;
    }

    /** Makes the manifest a chunked one (format 2) whose index starts at {@code indexOffset} and reads {@code packs}. */
    public Builder chunked(long indexOffset, List<Long> packs) {
      this.format = ImageManifest.FORMAT_CHUNKED;
      this.chunks = new ImageManifest.Chunks(indexOffset, packs);
      return this;
    }

    /** The manifest's mac; null (the default) for an unsigned manifest. */
    public Builder mac(String mac) {
      this.mac = mac;
      return this;
    }

    public ImageManifest build() {
      Map<String, Double> timings = new LinkedHashMap<>();
      timings.put("freezeAndDump", 41.5);
      timings.put("packAndUpload", 12.25);
      return new ImageManifest(
          format,
          workflowId,
          seq,
          createdAt,
          sha256,
          rawBytes,
          packedBytes,
          "tar+zstd",
          Map.of("name", "criu", "version", "4.0"),
          Map.of("vendor", "Eclipse Adoptium", "version", "17.0.15", "home", "/opt/jdk-17"),
          List.of("sse4_2", "avx2"),
          waitFor,
          Map.of("stdoutInode", "123456"),
          timings,
          encryption,
          mac,
          chunks);
    }
  }
}
