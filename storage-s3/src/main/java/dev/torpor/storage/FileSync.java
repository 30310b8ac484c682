package dev.torpor.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The fsync calls the local store, and a fetched application jar, need to make a write, a rename
 * or a removal durable.
 */
final class FileSync {
  /** Windows cannot open a directory to flush it; its renames are durable without that. */
  private static final boolean DIRECTORY_SYNC =
      !System.getProperty("os.name", "").startsWith("Windows");

  private FileSync() {}

  /** Makes the entries of {@code dir} (files created, renamed or removed in it) durable. */
  static void fsyncDirectory(Path dir) throws IOException {
    if (!DIRECTORY_SYNC) {
      return;
    }
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** Replaces the content of an existing {@code file} with {@code bytes} and fsyncs it. */
  static void writeDurably(Path file, byte[] bytes) throws IOException {
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
  }

  /** Replaces the content of an existing {@code file} with the rest of {@code in} and fsyncs it. */
  static void copyDurably(InputStream in, Path file) throws IOException {
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      OutputStream out = Channels.newOutputStream(channel); // unbuffered: nothing left to flush
      in.transferTo(out);
      channel.force(true);
    }
  }
}
