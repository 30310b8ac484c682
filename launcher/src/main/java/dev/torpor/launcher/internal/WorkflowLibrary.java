package dev.torpor.launcher.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The class path copies workflows see: {@code <run base>/lib/f-<content id>/NAME} for a file,
 * {@code d-<id of the tree>/NAME} for a directory, 0755/0644, each made once and never changed
 * (a restored JVM reopens them). Bound read-only into a workflow at the same paths, so the JVM
 * never sees where the worker keeps its own files, and every worker with the same run base
 * restores an image's class path at the same paths.
 */
final class WorkflowLibrary {
  private final Path lib;
  /** Copies already made, by source path, size and modification time: a file is hashed once. */
  private final Map<String, Path> published = new ConcurrentHashMap<>();

  WorkflowLibrary(Path lib) {
    this.lib = lib;
  }

  Path dir() {
    return lib;
  }

  /**
   * Where the JVM will find each class path entry: system files ({@code /usr}, {@code /etc})
   * where they are; anything else copied (once per content) into the library, whose copies are
   * bound read-only into the workflow at the same paths. The JVM never sees where the worker keeps
   * its own files.
   */
  List<Path> publish(List<Path> classPath) throws IOException {
    List<Path> seen = new ArrayList<>();
    for (Path entry : classPath) {
      Path p = entry.toAbsolutePath().normalize();
      seen.add(SandboxPlan.underSystem(p) || p.startsWith(lib) ? p : publish(p));
    }
    return seen;
  }

  /** Copies a class path file or directory into the library, named by its content; returns the copy. */
  private Path publish(Path entry) throws IOException {
    if (Files.isDirectory(entry)) {
      Path target = lib.resolve("d-" + treeId(entry)).resolve(entry.getFileName().toString());
      if (!Files.exists(target)) {
        Path tmp = Files.createTempDirectory(lib, ".copy-");
        PrivateDirs.setMode(tmp, 0755, -1);
        copyTree(entry, tmp.resolve(entry.getFileName().toString()));
        try {
          Files.move(tmp, target.getParent(), StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
          ImagePacker.deleteTree(tmp); // published by another start meanwhile: the same content
        }
      }
      return target;
    }
    String memo = entry + "|" + Files.size(entry) + "|" + Files.getLastModifiedTime(entry).toMillis();
    Path known = published.get(memo);
    if (known != null && Files.exists(known)) {
      return known;
    }
    Path dir = lib.resolve("f-" + fileId(entry));
    Path target = dir.resolve(entry.getFileName().toString());
    if (!Files.exists(target)) {
      Files.createDirectories(dir);
      PrivateDirs.setMode(dir, 0755, -1);
      Path tmp = Files.createTempFile(dir, ".copy-", ".tmp");
      Files.copy(entry, tmp, StandardCopyOption.REPLACE_EXISTING);
      PrivateDirs.setMode(tmp, 0644, -1);
      dev.torpor.storage.ContentAddressed.publish(tmp, target);
    }
    published.put(memo, target);
    return target;
  }

  private static String fileId(Path file) throws IOException {
    MessageDigest sha = ImagePacker.sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
  }

  /** A hash of every relative path and file content under {@code dir}. */
  private static String treeId(Path dir) throws IOException {
    MessageDigest sha = ImagePacker.sha256();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted().toList()) {
        sha.update(dir.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          sha.update(Files.readAllBytes(p));
        }
        sha.update((byte) 0);
      }
    }
    return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.sorted().toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectories(t);
          PrivateDirs.setMode(t, 0755, -1);
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          Files.copy(p, t);
          PrivateDirs.setMode(t, 0644, -1);
        } // links and special files are not class path content
      }
    }
  }

}
