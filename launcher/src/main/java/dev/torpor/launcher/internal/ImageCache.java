package dev.torpor.launcher.internal;

import dev.torpor.storage.ImageKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A worker's hot cache of the images it dumped. Once an image is committed to the store, its dump
 * directory (CRIU's files, uncompressed) is moved here instead of being deleted, and a wake of that
 * very image on this worker restores from it: no fetch, no decryption, no decompression, no
 * unpacking. The store keeps the durable copy; the cache is a convenience that a crash, a restart
 * or an eviction loses without loss to anyone.
 *
 * <p>What it trusts: the files are the ones this worker packed, never read back from the store,
 * in its private scratch directory (0700, root's); an entry is used only for the image key it was
 * committed under, and only if the manifest the wake trusts names the same packed SHA-256 (an image
 * replaced in the store since, e.g. after a crash, is fetched). Bounded by bytes; the least recently
 * kept or taken images go first, and a workflow's older images go as soon as a newer one is kept.
 * Taking an entry moves it out (a rename): a restored workflow's next image replaces it anyway.
 *
 * <p>Thread-safe. Moves and evictions are renames within one file system; deleting evicted trees,
 * and telling the owner of what was evicted for want of room, happen outside the lock.
 */
final class ImageCache {
  private final Path dir;
  private final long maxBytes;
  private final Consumer<ImageKey> onEvicted;
  /** In order of use, least recent first. */
  private final LinkedHashMap<ImageKey, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private long bytes;
  private long hits;
  private long misses;

  private record Entry(Path dir, String sha256, long bytes) {}

  /**
   * @param dir a private directory on the same file system as the dumps (it is created)
   * @param maxBytes the most the cached files may take; 0 disables the cache
   */
  ImageCache(Path dir, long maxBytes) throws IOException {
    this(dir, maxBytes, key -> { });
  }

  /**
   * @param evicted told of each image evicted for want of room (not of one replaced by a newer
   *     image of its workflow, dropped by {@link #drop}, or found stale by {@link #take})
   */
  ImageCache(Path dir, long maxBytes, Consumer<ImageKey> evicted) throws IOException {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("the image cache size must not be negative, got " + maxBytes);
    }
    this.dir = PrivateDirs.ensure(dir);
    this.maxBytes = maxBytes;
    this.onEvicted = evicted;
  }


  /**
   * Keeps the dump directory of committed image {@code key} (packed as {@code sha256}), moving it
   * into the cache. Returns false, leaving {@code dumpDir} where it is for the caller to delete,
   * if the cache is off or the image alone is larger than it.
   */
  boolean keep(ImageKey key, String sha256, Path dumpDir) throws IOException {
    if (maxBytes == 0) {
      return false;
    }
    long size = sizeOf(dumpDir);
    if (size > maxBytes) {
      return false;
    }
    Path target = dir.resolve(key.workflowId()).resolve(Long.toString(key.seq()));
    List<Path> evicted = new ArrayList<>();
    List<ImageKey> forRoom = new ArrayList<>();
    synchronized (this) {
      Files.createDirectories(target.getParent());
      ImagePacker.deleteTree(target); // a stale entry of the same key (cannot be indexed: a crash between runs)
      Files.move(dumpDir, target, StandardCopyOption.ATOMIC_MOVE);
      Entry old = entries.put(key, new Entry(target, sha256, size));
      if (old != null) {
        bytes -= old.bytes();
      }
      bytes += size;
      for (Iterator<Map.Entry<ImageKey, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<ImageKey, Entry> e = it.next();
        boolean older = e.getKey().workflowId().equals(key.workflowId()) && e.getKey().seq() < key.seq();
        if (older) {
          remove(it, e.getValue(), evicted);
        }
      }
      for (Iterator<Map.Entry<ImageKey, Entry>> it = entries.entrySet().iterator(); bytes > maxBytes && it.hasNext(); ) {
        Map.Entry<ImageKey, Entry> e = it.next();
        if (!e.getKey().equals(key)) {
          remove(it, e.getValue(), evicted);
          forRoom.add(e.getKey());
        }
      }
    }
    deleteAll(evicted);
    forRoom.forEach(onEvicted);
    return true;
  }

  /**
   * Moves the cached files of image {@code key} to {@code target} (which must not exist; its
   * parent must) if they are cached and were packed as {@code sha256}; empty on a miss. A cached
   * entry with another SHA-256 is dropped.
   */
  Optional<Path> take(ImageKey key, String sha256, Path target) throws IOException {
    Entry stale = null;
    synchronized (this) {
      Entry e = entries.get(key);
      if (e != null && e.sha256().equals(sha256)) {
        entries.remove(key);
        bytes -= e.bytes();
        Files.move(e.dir(), target, StandardCopyOption.ATOMIC_MOVE);
        hits++;
        return Optional.of(target);
      }
      if (e != null) {
        entries.remove(key);
        bytes -= e.bytes();
        stale = e;
      }
      misses++;
    }
    if (stale != null) {
      ImagePacker.deleteTree(stale.dir());
    }
    return Optional.empty();
  }

  /** Forgets every cached image of a workflow (it ended). */
  void drop(String workflowId) {
    List<Path> evicted = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Map.Entry<ImageKey, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<ImageKey, Entry> e = it.next();
        if (e.getKey().workflowId().equals(workflowId)) {
          remove(it, e.getValue(), evicted);
        }
      }
    }
    deleteAll(evicted);
  }

  /** The bytes cached now. */
  synchronized long bytes() {
    return bytes;
  }

  /** The keys cached now, least recently used first. */
  synchronized List<ImageKey> keys() {
    return List.copyOf(entries.keySet());
  }

  /** Wakes served from the cache and wakes that were not, since the start. */
  synchronized long[] hitsAndMisses() {
    return new long[] {hits, misses};
  }

  private void remove(Iterator<Map.Entry<ImageKey, Entry>> it, Entry e, List<Path> evicted) {
    it.remove();
    bytes -= e.bytes();
    evicted.add(e.dir());
  }

  private static void deleteAll(List<Path> dirs) {
    for (Path d : dirs) {
      try {
        ImagePacker.deleteTree(d);
      } catch (IOException e) {
        System.err.println("torpor worker: cannot delete the cached image " + d + ": " + e);
      }
    }
  }

  private static long sizeOf(Path tree) throws IOException {
    try (Stream<Path> files = Files.walk(tree)) {
      long total = 0;
      for (Path f : files.toList()) {
        if (Files.isRegularFile(f)) {
          total += Files.size(f);
        }
      }
      return total;
    }
  }
}
