package dev.torpor.launcher.internal;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdInputStream;
import dev.torpor.launcher.internal.ChunkIndex.Chunk;
import dev.torpor.launcher.internal.ChunkIndex.FileEntry;
import dev.torpor.launcher.internal.ChunkIndex.Frame;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageNotFoundException;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.SharedPacks;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.UnknownImageKeyException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes and reads chunked images (format 2). Writing cuts every file of a dump into 4 KiB
 * chunks, hashes each with SHA-256, and stores only the chunks that the image it grew from (its
 * base: the image the JVM was restored from, or for a first image the seed of its program in a
 * shared pack) does not hold in a frame worth reading, in new frames of its own data object (or
 * of a new shared pack, for a seed), followed by its index ({@link ChunkIndex}). A base frame is
 * worth reading when at least a quarter of its raw bytes are chunks the new image needs;
 * otherwise those chunks are written again, so a restore never reads more than about four times
 * the image's own frames however long the workflow's history. Reading fetches the index, checks
 * it against the manifest's SHA-256, then fetches every frame it names (adjacent frames of one
 * data object in one read), checks each against the SHA-256 the index holds before it is
 * decrypted or decompressed, and rebuilds the files.
 */
final class ChunkedImages {
  /** How far apart two frames of one data object may be and still be read in one request. */
  private static final long COALESCE_GAP = 64 * 1024;
  /**
   * Direct buffers for reading dumps, reused: a direct buffer is freed only when a GC finds it,
   * so one per read let a busy server's memory grow by hundreds of MB (ServerLoadIT).
   */
  private static final java.util.concurrent.ConcurrentLinkedQueue<ByteBuffer> READ_BUFFERS =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  private static final int MAX_READ_BUFFERS = 8;
  /** zstd contexts, reused as the buffers are; as many are kept. */
  private static final java.util.concurrent.ConcurrentLinkedQueue<ZstdCompressCtx> COMPRESSORS =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  private static final java.util.concurrent.ConcurrentLinkedQueue<ZstdDecompressCtx> DECOMPRESSORS =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** The most one read of frames may hold. */
  private static final long MAX_READ = 8 << 20;
  /** The largest index a restore accepts, decompressed. */
  private static final int MAX_INDEX = 256 << 20;

  private static final FileAttribute<Set<PosixFilePermission>> IMAGE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----"));

  /** Hashes or unpacks chunks beside the thread that writes or reads an image. */
  private static final ExecutorService POOL = Executors.newSingleThreadExecutor(r -> daemon(r, "torpor-chunks"));
  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private final ImageStore store;
  private final ImageCipher cipher; // null: written in the clear, encrypted frames unreadable
  private final int level;

  ChunkedImages(ImageStore store, Optional<ImageCipher> cipher, int level) {
    this.store = store;
    this.cipher = cipher.orElse(null);
    this.level = level;
  }

  /**
   * What writing an image stored.
   *
   * @param index the image's index, the base of its workflow's next image
   * @param storedBytes the bytes written to its data object: new frames and index
   * @param newChunks chunks written in its new frames
   * @param sharedChunks chunks it reads from frames of earlier images
   * @param indexOffset where its index starts in its data object
   * @param indexSha256 the SHA-256 of its index as stored
   * @param encryption what its manifest records of the index's encryption, or null
   */
  record Written(ChunkIndex index, long storedBytes, int newChunks, int sharedChunks, long indexOffset,
      String indexSha256, Map<String, String> encryption) {}

  /**
   * Writes the dump in {@code dir} as image {@code key} to {@code data} (not closed), sharing the
   * frames of {@code base} (an earlier image of the same workflow, or the seed of its program:
   * an image in a shared pack; or null) worth sharing.
   *
   * @param shared the shared packs the new image's workflow refers to: every shared pack a frame of
   *     {@code base} is in, those earlier images of the workflow referred to, and {@code intoPack}
   * @param intoPack when not null, the new frames go into {@code intoPack.frames} for the shared
   *     pack {@code intoPack.id}, which the caller stores, and only the index into {@code data}
   */
  Written write(ImageKey key, Path dir, OutputStream data, ChunkIndex base, List<String> shared, NewPack intoPack)
      throws IOException {
    List<Path> paths = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        if (Files.isRegularFile(p)) {
          paths.add(p);
        }
      }
    }
    paths.sort(Comparator.comparing(p -> p.getFileName().toString()));
    FileChannel[] files = new FileChannel[paths.size()];
    try {
      for (int i = 0; i < paths.size(); i++) {
        files[i] = FileChannel.open(paths.get(i), StandardOpenOption.READ);
      }
      return write(key, paths, files, data, base, shared, intoPack);
    } finally {
      for (FileChannel ch : files) {
        if (ch != null) {
          ch.close();
        }
      }
    }
  }

  /** A shared pack being written: its id, and its frames as they are sealed. */
  record NewPack(String id, ByteArrayOutputStream frames) {
    NewPack(String id) {
      this(id, new ByteArrayOutputStream(1 << 20));
    }
  }

  private Written write(ImageKey key, List<Path> paths, FileChannel[] contents, OutputStream data, ChunkIndex base,
      List<String> shared, NewPack intoPack) throws IOException {
    long[] sizes = new long[paths.size()];
    int[] firstChunk = new int[paths.size() + 1];
    for (int i = 0; i < paths.size(); i++) {
      sizes[i] = contents[i].size();
      if (sizes[i] > (long) Integer.MAX_VALUE * ChunkIndex.CHUNK / 2) {
        throw new IOException(paths.get(i) + " is too large for an image file: " + sizes[i] + " bytes");
      }
      firstChunk[i + 1] = Math.addExact(firstChunk[i], (int) ((sizes[i] + ChunkIndex.CHUNK - 1) / ChunkIndex.CHUNK));
    }
    byte[][] hashes = hashAll(contents, sizes, firstChunk);
    // Which frames of the base are worth reading: those a quarter of whose bytes this image needs.
    boolean[] keep = new boolean[base == null ? 0 : base.frames.size()];
    if (base != null) {
      long[] used = new long[base.frames.size()];
      boolean[] counted = new boolean[base.chunks.size()];
      for (byte[] h : hashes) {
        Integer c = base.lookup(h);
        if (c != null && !counted[c]) {
          counted[c] = true;
          Chunk chunk = base.chunks.get(c);
          used[chunk.frame()] += chunk.length();
        }
      }
      for (int f = 0; f < keep.length; f++) {
        keep[f] = used[f] * 4 >= base.frames.get(f).rawBytes();
      }
    }
    Builder b = new Builder(key, intoPack == null ? data : intoPack.frames(), intoPack == null ? null : intoPack.id());
    int[] baseFrameIds = new int[keep.length];
    Arrays.fill(baseFrameIds, -1);
    List<FileEntry> files = new ArrayList<>();
    int sharedChunks = 0;
    byte[] page = new byte[ChunkIndex.CHUNK];
    for (int i = 0; i < paths.size(); i++) {
      int[] ids = new int[firstChunk[i + 1] - firstChunk[i]];
      for (int j = 0; j < ids.length; j++) {
        byte[] h = hashes[firstChunk[i] + j];
        ByteBuffer hk = ChunkIndex.key(h);
        Integer known = b.byHash.get(hk);
        if (known == null) {
          Integer c = base == null ? null : base.lookup(h);
          if (c != null && keep[base.chunks.get(c).frame()]) {
            Chunk old = base.chunks.get(c);
            int f = old.frame();
            if (baseFrameIds[f] < 0) {
              baseFrameIds[f] = b.frames.size();
              b.frames.add(base.frames.get(f));
            }
            known = b.chunks.size();
            b.chunks.add(new Chunk(baseFrameIds[f], old.offset(), old.length()));
            sharedChunks++;
          } else {
            long off = (long) j * ChunkIndex.CHUNK;
            int len = (int) Math.min(ChunkIndex.CHUNK, sizes[i] - off);
            readFully(contents[i], ByteBuffer.wrap(page, 0, len), off, paths.get(i));
            known = b.append(page, len, h);
          }
          b.byHash.put(hk, known);
        }
        ids[j] = known;
      }
      files.add(new FileEntry(paths.get(i).getFileName().toString(), sizes[i], ids));
    }
    b.seal();
    ChunkIndex index = new ChunkIndex(b.frames, b.chunks, files, shared, b.byHash);
    byte[] stored = seal(key, null, compress(index.encode()));
    long indexOffset = intoPack == null ? b.written : 0;
    data.write(stored);
    data.flush();
    return new Written(index, indexOffset + stored.length, b.newChunks, sharedChunks, indexOffset,
        ChunkIndex.hex(ImagePacker.sha256().digest(stored)), cipher == null ? null : cipher.encryption());
  }

  /** The SHA-256 of every chunk of {@code contents}, in blocks of 256 chunks on this thread and the pool. */
  private static byte[][] hashAll(FileChannel[] contents, long[] sizes, int[] firstChunk) throws IOException {
    int total = firstChunk[firstChunk.length - 1];
    byte[][] hashes = new byte[total][];
    List<Runnable> blocks = new ArrayList<>();
    for (int from = 0; from < total; from += 256) {
      int start = from;
      int end = Math.min(total, from + 256);
      blocks.add(() -> {
        try {
          hashRange(contents, sizes, firstChunk, hashes, start, end);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
    runOnTwoThreads(blocks);
    return hashes;
  }

  /** Hashes chunks {@code from} to {@code to} (numbered across the files), reading 1 MiB at a time. */
  private static void hashRange(FileChannel[] contents, long[] sizes, int[] firstChunk, byte[][] hashes, int from,
      int to) throws IOException {
    MessageDigest sha = ImagePacker.sha256();
    ByteBuffer buf = READ_BUFFERS.poll();
    if (buf == null) {
      buf = ByteBuffer.allocateDirect(256 * ChunkIndex.CHUNK);
    }
    try {
      hashRange(contents, sizes, firstChunk, hashes, from, to, sha, buf);
    } finally {
      if (READ_BUFFERS.size() < MAX_READ_BUFFERS) {
        READ_BUFFERS.offer(buf);
      }
    }
  }

  private static void hashRange(FileChannel[] contents, long[] sizes, int[] firstChunk, byte[][] hashes, int from,
      int to, MessageDigest sha, ByteBuffer buf) throws IOException {
    for (int file = 0; file < contents.length; file++) {
      int start = Math.max(from, firstChunk[file]);
      int end = Math.min(to, firstChunk[file + 1]);
      for (int c = start; c < end; ) {
        int n = Math.min(end - c, 256);
        long pos = (long) (c - firstChunk[file]) * ChunkIndex.CHUNK;
        int len = (int) Math.min((long) n * ChunkIndex.CHUNK, sizes[file] - pos);
        buf.clear().limit(len);
        readFully(contents[file], buf, pos, null);
        for (int k = 0; k < n; k++) {
          int off = k * ChunkIndex.CHUNK;
          buf.limit(Math.min(len, off + ChunkIndex.CHUNK)).position(off);
          sha.update(buf);
          hashes[c + k] = sha.digest();
        }
        c += n;
      }
    }
  }

  /** Reads {@code buf} full from {@code pos} of {@code ch}. */
  private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path what) throws IOException {
    long at = pos;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, at);
      if (n < 0) {
        throw new IOException("an image file " + (what == null ? "" : what + " ") + "ended while it was read: was it"
            + " changed during the commit?");
      }
      at += n;
    }
    buf.flip();
  }


  /**
   * The new frames of one image as they are written. A frame's raw bytes are its chunks, then a
   * trailer: for each chunk its offset (int) and the first {@link ChunkIndex#KEY} bytes of its
   * SHA-256, then the number of entries (int). A restore takes the hashes from there instead of
   * hashing every chunk it rebuilt; they are as trustworthy as the frame, whose SHA-256 the
   * index holds.
   */
  private final class Builder {
    final ImageKey key;
    final OutputStream data;
    final String pack; // the shared pack written, or null: the image's own data object
    final ByteArrayOutputStream trailer = new ByteArrayOutputStream(ChunkIndex.FRAME_CHUNKS * ChunkIndex.TRAILER_ENTRY + 4);
    final List<Frame> frames = new ArrayList<>();
    final List<Chunk> chunks = new ArrayList<>();
    final Map<ByteBuffer, Integer> byHash = new HashMap<>();
    final ByteArrayOutputStream raw = new ByteArrayOutputStream(ChunkIndex.FRAME_CHUNKS * ChunkIndex.CHUNK);
    final MessageDigest sha = ImagePacker.sha256();
    int open = -1; // the index of the frame being filled
    int inOpen;
    int newChunks;
    long written;

    Builder(ImageKey key, OutputStream data, String pack) {
      this.key = key;
      this.data = data;
      this.pack = pack;
    }

    int append(byte[] content, int len, byte[] sha256) throws IOException {
      if (open < 0) {
        open = frames.size();
        frames.add(null); // sealed below
      }
      int id = chunks.size();
      int offset = raw.size();
      chunks.add(new Chunk(open, offset, len));
      raw.write(content, 0, len);
      trailer.write(offset >>> 24);
      trailer.write(offset >>> 16);
      trailer.write(offset >>> 8);
      trailer.write(offset);
      trailer.write(sha256, 0, ChunkIndex.KEY);
      newChunks++;
      if (++inOpen == ChunkIndex.FRAME_CHUNKS) {
        seal();
      }
      return id;
    }

    void seal() throws IOException {
      if (open < 0) {
        return;
      }
      int entries = inOpen;
      trailer.writeTo(raw);
      raw.write(entries >>> 24);
      raw.write(entries >>> 16);
      raw.write(entries >>> 8);
      raw.write(entries);
      byte[] rawBytes = raw.toByteArray();
      byte[] stored = ChunkedImages.this.seal(key, pack, compress(rawBytes));
      data.write(stored);
      frames.set(open, new Frame(pack == null ? key.seq() : 0, pack, written, stored.length, rawBytes.length,
          sha.digest(stored), cipher == null ? null : cipher.encryption().get("keyId"), true));
      written += stored.length;
      raw.reset();
      trailer.reset();
      open = -1;
      inOpen = 0;
    }
  }

  /** zstd at this writer's level, with a context from the pool (one per call fragments native memory). */
  private byte[] compress(byte[] raw) {
    ZstdCompressCtx ctx = COMPRESSORS.poll();
    if (ctx == null) {
      ctx = new ZstdCompressCtx();
    }
    try {
      return ctx.setLevel(level).compress(raw);
    } finally {
      release(COMPRESSORS, ctx);
    }
  }

  /**
   * A frame's raw bytes at most, trailer included: each thread unpacks into one buffer of this size
   * instead of a new array per frame (26 MB of arrays to zero and collect per restore).
   */
  private static final int POOLED_FRAME = ChunkIndex.FRAME_CHUNKS * (ChunkIndex.CHUNK + ChunkIndex.TRAILER_ENTRY) + 4;
  private static final ThreadLocal<byte[]> FRAME_BUFFER = ThreadLocal.withInitial(() -> new byte[POOLED_FRAME]);

  /** A buffer of at least {@code n} bytes for this thread's frame: the pooled one, or a new one if larger. */
  private static byte[] frameBuffer(int n) {
    return n <= POOLED_FRAME ? FRAME_BUFFER.get() : new byte[n];
  }

  private static long decompress(byte[] dst, int dstLength, byte[] src, int from, int length) {
    ZstdDecompressCtx ctx = DECOMPRESSORS.poll();
    if (ctx == null) {
      ctx = new ZstdDecompressCtx();
    }
    try {
      return ctx.decompressByteArray(dst, 0, dstLength, src, from, length);
    } finally {
      release(DECOMPRESSORS, ctx);
    }
  }

  private static <T extends AutoCloseable> void release(java.util.Queue<T> pool, T item) {
    if (pool.size() < MAX_READ_BUFFERS) {
      pool.offer(item);
      return;
    }
    try {
      item.close();
    } catch (Exception e) {
      throw new IllegalStateException("closing a zstd context failed", e);
    }
  }

  /**
   * Encrypts {@code plain} for the data object of {@code key}, or for the shared pack {@code
   * pack} if not null, if this worker has keys.
   */
  private byte[] seal(ImageKey key, String pack, byte[] plain) throws IOException {
    if (cipher == null) {
      return plain;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(plain.length + 128);
    try (OutputStream enc = pack == null ? cipher.encrypt(out, key) : cipher.encryptShared(out, pack)) {
      enc.write(plain);
    }
    return out.toByteArray();
  }

  private byte[] open(ImageKey key, byte[] stored, String keyId, String what) throws IOException {
    return open(key, null, stored, keyId, what);
  }

  /** Decrypts {@code stored}, of the data object of {@code key}, or of the shared pack {@code pack} if not null. */
  private byte[] open(ImageKey key, String pack, byte[] stored, String keyId, String what) throws IOException {
    if (keyId == null) {
      return stored;
    }
    Map<String, String> encryption = Map.of("scheme", ImageCipher.SCHEME, "keyId", keyId);
    if (cipher == null) {
      throw new UnknownImageKeyException(key, keyId, List.of());
    }
    try (InputStream in = pack == null ? cipher.decrypt(new ByteArrayInputStream(stored), key, encryption)
        : cipher.decryptShared(new ByteArrayInputStream(stored), key, pack, encryption)) {
      return in.readAllBytes();
    } catch (UnknownImageKeyException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageCorruptException(key, what + " does not decrypt: " + e.getMessage());
    }
  }

  /**
   * Reads image {@code m} (a chunked image's trusted manifest) into {@code dir}, which must be
   * empty or absent, and returns its index with its chunks' hashes (computed as the frames are
   * unpacked, for the workflow's next image). Each frame goes straight into the files, so a
   * restore holds one read of at most {@value #MAX_READ} bytes and a frame per thread. Leaves nothing in {@code dir} unless every frame
   * verified.
   *
   * @throws ImageCorruptException naming the index, or the frame, the data object it is in and
   *     the chunks it holds, if one is damaged or missing
   */
  ChunkIndex read(ImageManifest m, Path dir) throws IOException {
    ImageKey key = m.key();
    ChunkIndex index = readIndex(m);
    Files.createDirectories(dir);
    FileChannel[] files = new FileChannel[index.files.size()];
    try {
      for (int i = 0; i < files.length; i++) {
        files[i] = FileChannel.open(dir.resolve(index.files.get(i).name()),
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), IMAGE_FILE);
      }
      byte[][] hashes = new byte[index.chunks.size()][];
      fetchFrames(key, index, extentsByFrame(index), files, hashes);
      for (FileChannel ch : files) {
        ch.close();
      }
      return index.withHashes(hashes);
    } catch (IOException | RuntimeException | Error e) {
      for (FileChannel ch : files) {
        if (ch != null) {
          try {
            ch.close();
          } catch (IOException ignored) {
            // the directory goes anyway
          }
        }
      }
      ImagePacker.deleteTree(dir);
      throw e;
    }
  }

  /**
   * Where each frame's bytes go: runs of (file, file offset, frame offset, length), merged where
   * consecutive chunks of a frame are consecutive in a file, as a page file's mostly are.
   */
  private static List<List<long[]>> extentsByFrame(ChunkIndex index) {
    List<List<long[]>> byFrame = new ArrayList<>(index.frames.size());
    for (int f = 0; f < index.frames.size(); f++) {
      byFrame.add(new ArrayList<>());
    }
    for (int i = 0; i < index.files.size(); i++) {
      int[] ids = index.files.get(i).chunks();
      for (int j = 0; j < ids.length; j++) {
        Chunk c = index.chunks.get(ids[j]);
        List<long[]> extents = byFrame.get(c.frame());
        long fileOffset = (long) j * ChunkIndex.CHUNK;
        long[] last = extents.isEmpty() ? null : extents.get(extents.size() - 1);
        if (last != null && last[0] == i && last[1] + last[3] == fileOffset && last[2] + last[3] == c.offset()) {
          last[3] += c.length();
        } else {
          extents.add(new long[] {i, fileOffset, c.offset(), c.length()});
        }
      }
    }
    return byFrame;
  }

  /** The index of image {@code m} (a chunked image's trusted manifest), checked against the manifest. */
  ChunkIndex readIndex(ImageManifest m) throws IOException {
    ImageKey key = m.key();
    long indexOffset = m.chunks().indexOffset();
    byte[] storedIndex = readRange(key, key, indexOffset, m.packedBytes() - indexOffset, "its chunk index");
    String actual = ChunkIndex.hex(ImagePacker.sha256().digest(storedIndex));
    if (!actual.equals(m.sha256())) {
      throw new ImageCorruptException(key, "its chunk index (bytes " + indexOffset + " to " + m.packedBytes()
          + " of its data object) has SHA-256 " + actual + " but the manifest says " + m.sha256());
    }
    byte[] compressed = m.encryption() == null ? storedIndex : open(key, storedIndex, keyIdOf(key, m), "its chunk index");
    byte[] encoded;
    try (InputStream z = new ZstdInputStream(new ByteArrayInputStream(compressed))) {
      encoded = z.readNBytes(MAX_INDEX + 1);
    } catch (IOException e) {
      throw new ImageCorruptException(key, "its chunk index does not decompress: " + e.getMessage());
    }
    if (encoded.length > MAX_INDEX) {
      throw new ImageCorruptException(key, "its chunk index is larger than " + MAX_INDEX + " bytes");
    }
    return ChunkIndex.decode(key, encoded);
  }

  private static String keyIdOf(ImageKey key, ImageManifest m) throws IOException {
    return ImageCipher.requireKnownScheme(key, m.encryption());
  }

  /**
   * Reads every frame of {@code index} (adjacent frames of one data object in one read of at most
   * {@link #MAX_READ} bytes), verifies, decrypts and decompresses each, writes its chunks where
   * {@code extents} say and hashes them into {@code hashes}, on two threads.
   */
  private void fetchFrames(ImageKey key, ChunkIndex index, List<List<long[]>> extents, FileChannel[] files,
      byte[][] hashes) throws IOException {
    int[] perFrame = new int[index.frames.size()];
    for (Chunk c : index.chunks) {
      perFrame[c.frame()]++;
    }
    int[][] chunksOfFrame = new int[perFrame.length][];
    for (int f = 0; f < perFrame.length; f++) {
      chunksOfFrame[f] = new int[perFrame[f]];
      perFrame[f] = 0;
    }
    for (int c = 0; c < index.chunks.size(); c++) {
      int f = index.chunks.get(c).frame();
      chunksOfFrame[f][perFrame[f]++] = c;
    }
    // By the object the frames are in: the workflow's data objects (by seq), then shared packs (by id).
    Map<String, List<Integer>> byPack = new TreeMap<>();
    for (int f = 0; f < index.frames.size(); f++) {
      Frame frame = index.frames.get(f);
      String object = frame.shared() == null ? String.format("0:%020d", frame.pack()) : "1:" + frame.shared();
      byPack.computeIfAbsent(object, p -> new ArrayList<>()).add(f);
    }
    for (List<Integer> ids : byPack.values()) {
      Frame any = index.frames.get(ids.get(0));
      ImageKey pack = any.shared() == null ? new ImageKey(key.workflowId(), any.pack()) : key;
      String shared = any.shared();
      ids.sort(Comparator.comparingLong(f -> index.frames.get(f).offset()));
      int i = 0;
      while (i < ids.size()) {
        Frame first = index.frames.get(ids.get(i));
        long start = first.offset();
        long end = start + first.storedBytes();
        int j = i + 1;
        while (j < ids.size()) {
          Frame next = index.frames.get(ids.get(j));
          long nextEnd = next.offset() + next.storedBytes();
          if (next.offset() < end || next.offset() - end > COALESCE_GAP || nextEnd - start > MAX_READ) {
            break;
          }
          end = nextEnd;
          j++;
        }
        byte[] bytes = readRange(key, shared, pack, start, end - start,
            any.object(key.workflowId()) + ", which holds " + ids.size() + " of its frames,");
        List<Runnable> unpacks = new ArrayList<>();
        for (int k = i; k < j; k++) {
          int f = ids.get(k);
          int from = (int) (index.frames.get(f).offset() - start);
          unpacks.add(() -> place(key, index, f, unpack(key, index, f, pack, bytes, from), extents.get(f),
              chunksOfFrame[f], files, hashes));
        }
        runOnTwoThreads(unpacks);
        i = j;
      }
    }
  }

  /**
   * Writes frame {@code f}'s raw bytes where its chunks go, and records each chunk's hash: from the
   * frame's trailer if it has one, else hashing the chunk.
   */
  private static void place(ImageKey key, ChunkIndex index, int f, byte[] raw, List<long[]> extents,
      int[] chunksOfFrame, FileChannel[] files, byte[][] hashes) {
    Frame frame = index.frames.get(f);
    try {
      for (long[] x : extents) {
        ByteBuffer piece = ByteBuffer.wrap(raw, (int) x[2], (int) x[3]);
        long at = x[1];
        while (piece.hasRemaining()) {
          at += files[(int) x[0]].write(piece, at);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(new IOException("cannot write " + describe(key, index, f) + " of image " + key
          + " into its restore directory: " + e.getMessage(), e));
    }
    Map<Integer, byte[]> fromTrailer = frame.trailer() ? trailerOf(key, index, f, raw, frame.rawBytes()) : Map.of();
    MessageDigest sha = null;
    for (int c : chunksOfFrame) {
      Chunk chunk = index.chunks.get(c);
      byte[] h = fromTrailer.get(chunk.offset());
      if (h == null) {
        if (sha == null) {
          sha = ImagePacker.sha256();
        }
        sha.update(raw, chunk.offset(), chunk.length());
        h = sha.digest();
      }
      hashes[c] = h;
    }
  }

  /** The chunk hashes in frame {@code f}'s trailer, by the chunk's offset in the frame. */
  private static Map<Integer, byte[]> trailerOf(ImageKey key, ChunkIndex index, int f, byte[] raw, int rawLength) {
    ByteBuffer b = ByteBuffer.wrap(raw);
    int n = rawLength < 4 ? -1 : b.getInt(rawLength - 4);
    long trailerStart = rawLength - 4 - (long) n * ChunkIndex.TRAILER_ENTRY;
    if (n < 0 || n > ChunkIndex.FRAME_CHUNKS || trailerStart < 0) {
      throw new UncheckedIOException(new ImageCorruptException(key, describe(key, index, f)
          + " ends with a hash trailer of " + n + " entries, which does not fit it"));
    }
    Map<Integer, byte[]> byOffset = new HashMap<>(n * 2);
    for (int e = 0; e < n; e++) {
      int at = (int) trailerStart + e * ChunkIndex.TRAILER_ENTRY;
      byte[] h = Arrays.copyOfRange(raw, at + 4, at + ChunkIndex.TRAILER_ENTRY);
      byOffset.put(b.getInt(at), h);
    }
    return byOffset;
  }

  /**
   * Checks, decrypts and decompresses frame {@code f}, stored in {@code bytes} from {@code from},
   * into this thread's frame buffer, which it returns: the frame is its first {@code rawBytes} bytes,
   * valid until this thread's next unpack.
   */
  private byte[] unpack(ImageKey key, ChunkIndex index, int f, ImageKey pack, byte[] bytes, int from) {
    Frame frame = index.frames.get(f);
    MessageDigest digest = ImagePacker.sha256();
    digest.update(bytes, from, frame.storedBytes());
    byte[] sha = digest.digest();
    try {
      if (!MessageDigest.isEqual(sha, frame.sha256())) {
        throw new ImageCorruptException(key, describe(key, index, f) + " has SHA-256 " + ChunkIndex.hex(sha)
            + " but the index says " + ChunkIndex.hex(frame.sha256()));
      }
      int rawLength = frame.rawBytes();
      byte[] plain = frameBuffer(rawLength); // this thread's: place() uses it before the next unpack
      long n;
      if (frame.keyId() == null) {
        n = decompress(plain, rawLength, bytes, from, frame.storedBytes());
      } else {
        byte[] compressed = open(pack, frame.shared(), Arrays.copyOfRange(bytes, from, from + frame.storedBytes()),
            frame.keyId(), describe(key, index, f));
        n = decompress(plain, rawLength, compressed, 0, compressed.length);
      }
      if (n != rawLength) {
        throw new ImageCorruptException(key, describe(key, index, f) + " holds " + n + " bytes, not " + rawLength);
      }
      return plain;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      if (e instanceof UncheckedIOException) {
        throw e;
      }
      throw new UncheckedIOException(new ImageCorruptException(key, describe(key, index, f) + " does not decompress: "
          + e.getMessage()));
    }
  }

  /**
   * Runs {@code tasks} on this thread and, when it is free, the pool's: both take the next task
   * until none is left, so a pool busy with another image's work only means this thread does it
   * all. Throws the first failure, unwrapped from its {@link UncheckedIOException}.
   */
  private static void runOnTwoThreads(List<Runnable> tasks) throws IOException {
    AtomicInteger next = new AtomicInteger();
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Runnable drain = () -> {
      int i;
      while (failed.get() == null && (i = next.getAndIncrement()) < tasks.size()) {
        try {
          tasks.get(i).run();
        } catch (RuntimeException | Error e) {
          failed.compareAndSet(null, e);
        }
      }
    };
    // The pool's thread helps only if it gets to it before this thread is done.
    boolean helper = tasks.size() > 1;
    AtomicBoolean claimed = new AtomicBoolean();
    CountDownLatch helped = new CountDownLatch(1);
    if (helper) {
      POOL.execute(() -> {
        if (claimed.compareAndSet(false, true)) {
          try {
            drain.run();
          } finally {
            helped.countDown();
          }
        }
      });
    }
    drain.run();
    if (helper && !claimed.compareAndSet(false, true)) {
      try {
        helped.await(); // it is running a task of ours
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while working on chunks");
      }
    }
    Throwable e = failed.get();
    if (e instanceof UncheckedIOException u) {
      throw u.getCause();
    }
    if (e instanceof RuntimeException r) {
      throw r;
    }
    if (e instanceof Error err) {
      throw err;
    }
  }

  /** Names a frame, where it is, and the chunks of the image's files it holds. */
  private static String describe(ImageKey key, ChunkIndex index, int f) {
    Frame frame = index.frames.get(f);
    StringBuilder where = new StringBuilder();
    int n = 0;
    for (FileEntry file : index.files) {
      int[] ids = file.chunks();
      for (int j = 0; j < ids.length; j++) {
        if (index.chunks.get(ids[j]).frame() == f) {
          if (n < 3) {
            where.append(n == 0 ? "" : ", ").append(file.name()).append(" at ").append((long) j * ChunkIndex.CHUNK);
          }
          n++;
        }
      }
    }
    return "frame " + f + " (bytes " + frame.offset() + " to " + (frame.offset() + frame.storedBytes())
        + " of " + frame.object(key.workflowId()) + ", SHA-256 " + ChunkIndex.hex(frame.sha256()) + ", holding " + n
        + " chunk(s) of the image: " + where + (n > 3 ? ", ..." : "") + ")";
  }

  private byte[] readRange(ImageKey image, ImageKey object, long offset, long length, String what) throws IOException {
    return readRange(image, null, object, offset, length, what);
  }

  /** Reads a range of the data object {@code object}, or of the shared pack {@code shared} if not null. */
  private byte[] readRange(ImageKey image, String shared, ImageKey object, long offset, long length, String what)
      throws IOException {
    if (length > Integer.MAX_VALUE - 16) {
      throw new ImageCorruptException(image, what + " claims " + length + " bytes");
    }
    try (InputStream in = shared == null ? store.openRange(object, offset, length)
        : store.openSharedRange(SharedPacks.packName(shared), offset, length)) {
      byte[] bytes = in.readNBytes((int) length);
      if (bytes.length != length) {
        throw new ImageCorruptException(image, what + " ends after " + bytes.length + " of " + length + " bytes");
      }
      return bytes;
    } catch (ImageNotFoundException e) {
      throw new ImageCorruptException(image, what + " is missing from " + store.describe());
    }
  }
}
