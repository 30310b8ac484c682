package dev.torpor.storage;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Files at content-addressed paths (application and agent jars): once a path exists it holds
 * that content, and it is never replaced. A workflow JVM keeps its class path open, and CRIU
 * dumps and restores open files by path: a jar replaced under a live JVM, even by the same bytes,
 * becomes a deleted ("ghost") file the dump refuses, or a different file at restore. Several
 * workers on one machine share these paths, so two may publish the same file at once.
 */
public final class ContentAddressed {
  private ContentAddressed() {}

  /**
   * Makes the complete file {@code temp} (in {@code target}'s directory) appear at {@code target}
   * unless a file is already there, atomically (a hard link), then removes {@code temp}. Returns
   * whether this call published it.
   */
  public static boolean publish(Path temp, Path target) throws IOException {
    try {
      Files.createLink(target, temp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false; // the same content, published first by another: keep the file JVMs may hold open
    } finally {
      Files.deleteIfExists(temp);
    }
  }
}
