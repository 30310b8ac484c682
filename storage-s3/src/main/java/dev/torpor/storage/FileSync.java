package dev.torpor.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The fsync calls the local store needs to make a write, a rename or a removal durable. */
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
}
