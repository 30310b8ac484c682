package dev.torpor.launcher.internal;

import dev.torpor.storage.ImageKey;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What a chunked image (format 2) is made of: its files, each a list of chunks; every chunk by
 * its place in a frame; every frame by the data object (pack) it is in, where,
 * how long as stored and as raw bytes, the SHA-256 of its stored bytes, and the image key that
 * encrypted it, if any. A frame is up to {@link #FRAME_CHUNKS} chunks compressed together with
 * zstd and then, with image keys, encrypted on its own, so a restore reads only the frames it
 * needs. The index is stored at the end of its image's own data object, and the manifest holds
 * its SHA-256: with a signed manifest, every frame is authenticated through it.
 *
 * <p>The SHA-256 of every chunk, which the next image of the workflow looks its chunks up by,
 * is not stored (it would make up most of the index): the writer knows them, and a reader
 * hashes the chunks it rebuilt ({@link #withHashes}). Immutable.
 */
final class ChunkIndex {
  /** The size of a chunk: a page, so a page that did not change is a chunk already stored. */
  static final int CHUNK = 4096;

  /** How many chunks a frame holds at most: 256 KiB of raw bytes. */
  static final int FRAME_CHUNKS = 64;

  private static final int MAGIC = 0x54505833; // "TPX3"
  private static final int HASH = 32;
  /** Limits a damaged index cannot make us exceed. */
  private static final int MAX_COUNT = 1 << 24;

  /** A frame: where it is and what it holds. {@code keyId} is null for a frame in the clear. */
  record Frame(long pack, long offset, int storedBytes, int rawBytes, byte[] sha256, String keyId) {}

  /** A chunk: the frame it is in and where in the frame's raw bytes. */
  record Chunk(int frame, int offset, int length) {}

  /** A file of the image: its name in the image directory, its size, its chunks in order. */
  record FileEntry(String name, long size, int[] chunks) {}

  final List<Frame> frames;
  final List<Chunk> chunks;
  final List<FileEntry> files;
  /** The chunks by SHA-256, or null when not known. */
  private final Map<ByteBuffer, Integer> byHash;

  ChunkIndex(List<Frame> frames, List<Chunk> chunks, List<FileEntry> files, Map<ByteBuffer, Integer> byHash) {
    this.frames = List.copyOf(frames);
    this.chunks = List.copyOf(chunks);
    this.files = List.copyOf(files);
    this.byHash = byHash;
  }

  /** This index with the chunks' SHA-256s, {@code hashes[i]} being chunk {@code i}'s. */
  ChunkIndex withHashes(byte[][] hashes) {
    Map<ByteBuffer, Integer> map = new HashMap<>(hashes.length * 2);
    for (int i = 0; i < hashes.length; i++) {
      map.putIfAbsent(ByteBuffer.wrap(hashes[i]), i);
    }
    return new ChunkIndex(frames, chunks, files, map);
  }

  /** Whether {@link #lookup} can find chunks. */
  boolean hashed() {
    return byHash != null;
  }

  /** The chunk with this SHA-256, or null (also when the hashes are not known). */
  Integer lookup(byte[] sha256) {
    return byHash == null ? null : byHash.get(ByteBuffer.wrap(sha256));
  }

  /** The seqs of the data objects the frames are in, ascending. */
  List<Long> packs() {
    TreeSet<Long> packs = new TreeSet<>();
    for (Frame f : frames) {
      packs.add(f.pack());
    }
    return List.copyOf(packs);
  }

  /** The size of the image's files. */
  long rawBytes() {
    long raw = 0;
    for (FileEntry f : files) {
      raw += f.size();
    }
    return raw;
  }

  byte[] encode() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + chunks.size() * 48);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(MAGIC);
      List<String> keyIds = new ArrayList<>();
      for (Frame f : frames) {
        if (f.keyId() != null && !keyIds.contains(f.keyId())) {
          keyIds.add(f.keyId());
        }
      }
      out.writeInt(keyIds.size());
      for (String k : keyIds) {
        out.writeUTF(k);
      }
      out.writeInt(frames.size());
      for (Frame f : frames) {
        out.writeLong(f.pack());
        out.writeLong(f.offset());
        out.writeInt(f.storedBytes());
        out.writeInt(f.rawBytes());
        out.writeInt(f.keyId() == null ? -1 : keyIds.indexOf(f.keyId()));
        out.write(f.sha256());
      }
      out.writeInt(chunks.size());
      for (Chunk c : chunks) {
        out.writeInt(c.frame());
        out.writeInt(c.offset());
        out.writeInt(c.length());
      }
      out.writeInt(files.size());
      for (FileEntry f : files) {
        out.writeUTF(f.name());
        out.writeLong(f.size());
        out.writeInt(f.chunks().length);
        for (int c : f.chunks()) {
          out.writeInt(c);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
    return bytes.toByteArray();
  }

  /**
   * Reads an index written by {@link #encode}, checking that it is whole and consistent: every
   * file name a plain name, every chunk inside its frame, every file exactly covered by its
   * chunks, every frame in a data object no newer than the image.
   *
   * @throws ImageCorruptException naming what is wrong
   */
  static ChunkIndex decode(ImageKey key, byte[] encoded) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded));
    try {
      if (in.readInt() != MAGIC) {
        throw corrupt(key, "it does not start as a chunk index does");
      }
      int keyCount = count(in, key, "key ids");
      List<String> keyIds = new ArrayList<>();
      for (int i = 0; i < keyCount; i++) {
        keyIds.add(in.readUTF());
      }
      int frameCount = count(in, key, "frames");
      List<Frame> frames = new ArrayList<>(frameCount);
      for (int i = 0; i < frameCount; i++) {
        long pack = in.readLong();
        long offset = in.readLong();
        int stored = in.readInt();
        int raw = in.readInt();
        int keyIndex = in.readInt();
        byte[] sha = in.readNBytes(HASH);
        if (pack < 1 || pack > key.seq() || offset < 0 || stored < 0 || raw < 0 || raw > FRAME_CHUNKS * CHUNK
            || keyIndex < -1 || keyIndex >= keyIds.size() || sha.length != HASH) {
          throw corrupt(key, "frame " + i + " is out of bounds");
        }
        frames.add(new Frame(pack, offset, stored, raw, sha, keyIndex < 0 ? null : keyIds.get(keyIndex)));
      }
      int chunkCount = count(in, key, "chunks");
      List<Chunk> chunks = new ArrayList<>(chunkCount);
      for (int i = 0; i < chunkCount; i++) {
        int frame = in.readInt();
        int offset = in.readInt();
        int length = in.readInt();
        if (frame < 0 || frame >= frames.size() || offset < 0 || length < 1 || length > CHUNK
            || offset + length > frames.get(frame).rawBytes()) {
          throw corrupt(key, "chunk " + i + " lies outside its frame");
        }
        chunks.add(new Chunk(frame, offset, length));
      }
      int fileCount = count(in, key, "files");
      List<FileEntry> files = new ArrayList<>(fileCount);
      for (int i = 0; i < fileCount; i++) {
        String name = in.readUTF();
        if (name.isEmpty() || name.contains("/") || name.contains("\0") || name.startsWith(".")) {
          throw corrupt(key, "file " + i + " has the name '" + name + "', which is not a plain file name");
        }
        long size = in.readLong();
        int n = count(in, key, "chunks of file " + name);
        int[] ids = new int[n];
        long covered = 0;
        for (int j = 0; j < n; j++) {
          ids[j] = in.readInt();
          if (ids[j] < 0 || ids[j] >= chunks.size()) {
            throw corrupt(key, "file " + name + " names chunk " + ids[j] + ", which the index does not have");
          }
          int length = chunks.get(ids[j]).length();
          if (j < n - 1 && length != CHUNK) {
            throw corrupt(key, "file " + name + " has a short chunk before its end");
          }
          covered += length;
        }
        if (covered != size) {
          throw corrupt(key, "the chunks of file " + name + " hold " + covered + " bytes, not its " + size);
        }
        files.add(new FileEntry(name, size, ids));
      }
      if (in.read() != -1) {
        throw corrupt(key, "bytes follow its end");
      }
      return new ChunkIndex(frames, chunks, files, null);
    } catch (EOFException e) {
      throw corrupt(key, "it ends early");
    }
  }

  private static int count(DataInputStream in, ImageKey key, String what) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > MAX_COUNT) {
      throw corrupt(key, "it claims " + n + " " + what);
    }
    return n;
  }

  private static ImageCorruptException corrupt(ImageKey key, String problem) {
    return new ImageCorruptException(key, "the chunk index is damaged: " + problem);
  }

  static String hex(byte[] sha256) {
    return HexFormat.of().formatHex(sha256);
  }
}
