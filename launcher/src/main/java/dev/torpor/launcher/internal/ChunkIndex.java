package dev.torpor.launcher.internal;

import dev.torpor.storage.ImageKey;
import dev.torpor.storage.SharedPacks;
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
 * is not in the index (it would make up most of it): the writer knows them, and a frame written
 * since index format 4 ends with a trailer of its chunks' hashes (their first {@link #KEY}
 * bytes), which a reader takes instead of hashing what it rebuilt ({@link #withHashes}). Since
 * format 4 the index also lists the shared packs ({@link SharedPacks}) its workflow refers to,
 * and a frame may be in one of them. Immutable.
 */
final class ChunkIndex {
  /** The size of a chunk: a page, so a page that did not change is a chunk already stored. */
  static final int CHUNK = 4096;

  /** How many chunks a frame holds at most: 256 KiB of raw bytes. */
  static final int FRAME_CHUNKS = 64;

  /** The first index format: no shared packs, no hashes in frames. Still read. */
  private static final int MAGIC_3 = 0x54505833; // "TPX3"
  private static final int MAGIC = 0x54505834; // "TPX4"
  private static final int HASH = 32;
  /** How much of a chunk's SHA-256 a frame's trailer keeps, and lookups compare: 128 bits. */
  static final int KEY = 16;
  /** A trailer entry: the chunk's offset in the frame and its hash's first {@link #KEY} bytes. */
  static final int TRAILER_ENTRY = 4 + KEY;
  /** The largest raw frame: its chunks, then a trailer of their hashes and its entry count. */
  static final int MAX_FRAME = FRAME_CHUNKS * (CHUNK + TRAILER_ENTRY) + 4;
  /** Limits a damaged index cannot make us exceed. */
  private static final int MAX_COUNT = 1 << 24;

  /**
   * A frame: where it is and what it holds. It is in the workflow's data object {@code pack}, or,
   * when {@code shared} is not null, in that shared pack ({@code pack} 0). {@code keyId} is null
   * for a frame in the clear. A {@code trailer} frame ends with the hashes of its chunks (see
   * {@link ChunkedImages}), so a reader need not hash them.
   */
  record Frame(long pack, String shared, long offset, int storedBytes, int rawBytes, byte[] sha256, String keyId,
      boolean trailer) {
    /** Where the frame is, for messages. */
    String object(String workflowId) {
      return shared == null ? "the data object of image " + workflowId + "#" + pack : "shared pack " + shared;
    }
  }

  /** A chunk: the frame it is in and where in the frame's raw bytes. */
  record Chunk(int frame, int offset, int length) {}

  /** A file of the image: its name in the image directory, its size, its chunks in order. */
  record FileEntry(String name, long size, int[] chunks) {}

  final List<Frame> frames;
  final List<Chunk> chunks;
  final List<FileEntry> files;
  /**
   * The shared packs ({@link dev.torpor.storage.SharedPacks}) the workflow's images read from:
   * every pack a frame is in, and those of the image it grew from.
   */
  final List<String> shared;
  /** The chunks by the first {@link #KEY} bytes of their SHA-256 ({@link #key}), or null when not known. */
  private final Map<ByteBuffer, Integer> byHash;

  ChunkIndex(List<Frame> frames, List<Chunk> chunks, List<FileEntry> files, List<String> shared,
      Map<ByteBuffer, Integer> byHash) {
    this.frames = List.copyOf(frames);
    this.chunks = List.copyOf(chunks);
    this.files = List.copyOf(files);
    this.shared = List.copyOf(shared);
    this.byHash = byHash;
    for (Frame f : this.frames) {
      if (f.shared() != null && !this.shared.contains(f.shared())) {
        throw new IllegalStateException("a frame is in shared pack " + f.shared() + ", which the index does not list");
      }
    }
  }

  /** What a chunk is looked up by: the first {@link #KEY} bytes of its SHA-256 (or of a trailer's). */
  static ByteBuffer key(byte[] sha256) {
    return ByteBuffer.wrap(sha256, 0, KEY);
  }

  /** This index with the chunks' hashes, {@code hashes[i]} being chunk {@code i}'s (at least {@link #KEY} bytes). */
  ChunkIndex withHashes(byte[][] hashes) {
    Map<ByteBuffer, Integer> map = new HashMap<>(hashes.length * 2);
    for (int i = 0; i < hashes.length; i++) {
      map.putIfAbsent(key(hashes[i]), i);
    }
    return new ChunkIndex(frames, chunks, files, shared, map);
  }

  /** The chunk with this SHA-256, or null (also when the hashes are not known). */
  Integer lookup(byte[] sha256) {
    return byHash == null ? null : byHash.get(key(sha256));
  }

  /** The seqs of the workflow's data objects the frames are in, ascending. */
  List<Long> packs() {
    TreeSet<Long> packs = new TreeSet<>();
    for (Frame f : frames) {
      if (f.shared() == null) {
        packs.add(f.pack());
      }
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
      out.writeInt(shared.size());
      for (String id : shared) {
        out.writeUTF(id);
      }
      out.writeInt(frames.size());
      for (Frame f : frames) {
        out.writeLong(f.pack());
        out.writeInt(f.shared() == null ? -1 : shared.indexOf(f.shared()));
        out.writeLong(f.offset());
        out.writeInt(f.storedBytes());
        out.writeInt(f.rawBytes());
        out.writeInt(f.keyId() == null ? -1 : keyIds.indexOf(f.keyId()));
        out.writeBoolean(f.trailer());
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
      int magic = in.readInt();
      if (magic != MAGIC && magic != MAGIC_3) {
        throw corrupt(key, "it does not start as a chunk index does");
      }
      boolean v4 = magic == MAGIC;
      int keyCount = count(in, key, "key ids");
      List<String> keyIds = new ArrayList<>();
      for (int i = 0; i < keyCount; i++) {
        keyIds.add(in.readUTF());
      }
      List<String> shared = new ArrayList<>();
      if (v4) {
        int sharedCount = count(in, key, "shared packs");
        for (int i = 0; i < sharedCount; i++) {
          String id = in.readUTF();
          if (!SharedPacks.isId(id) || shared.contains(id)) {
            throw corrupt(key, "shared pack " + i + " has the id '" + id + "', which is not one or is there twice");
          }
          shared.add(id);
        }
      }
      int frameCount = count(in, key, "frames");
      List<Frame> frames = new ArrayList<>(frameCount);
      for (int i = 0; i < frameCount; i++) {
        long pack = in.readLong();
        int sharedIndex = v4 ? in.readInt() : -1;
        long offset = in.readLong();
        int stored = in.readInt();
        int raw = in.readInt();
        int keyIndex = in.readInt();
        boolean trailer = v4 && in.readBoolean();
        byte[] sha = in.readNBytes(HASH);
        boolean placed = sharedIndex < 0 ? pack >= 1 && pack <= key.seq() : pack == 0 && sharedIndex < shared.size();
        if (!placed || offset < 0 || stored < 0 || raw < 0 || raw > (trailer ? MAX_FRAME : FRAME_CHUNKS * CHUNK)
            || keyIndex < -1 || keyIndex >= keyIds.size() || sha.length != HASH) {
          throw corrupt(key, "frame " + i + " is out of bounds");
        }
        frames.add(new Frame(pack, sharedIndex < 0 ? null : shared.get(sharedIndex), offset, stored, raw, sha,
            keyIndex < 0 ? null : keyIds.get(keyIndex), trailer));
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
      return new ChunkIndex(frames, chunks, files, shared, null);
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
