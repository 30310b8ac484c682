package dev.torpor.scheduler.internal;

import dev.torpor.storage.ContentAddressed;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Uploaded application jars, content-addressed by SHA-256 under one directory, so a jar is at the
 * same path for every run and restore; in a cluster each is also put in the shared store before
 * any workflow can name it, from which every worker fetches it.
 */
final class AppLibrary {
  private final Path dir;
  private volatile ImageStore published;

  AppLibrary(Path dir) {
    this.dir = dir;
  }

  /** Also keeps every jar stored from now on in {@code store} (a cluster's). */
  void publishTo(ImageStore store) {
    this.published = store;
  }

  /** Where the jar with this SHA-256 lives. */
  Path jar(String sha256) {
    return dir.resolve(sha256 + ".jar");
  }

  /** Stores a jar (idempotent) and returns its SHA-256. */
  String store(InputStream jar) throws IOException {
    Path apps = Files.createDirectories(dir);
    Path tmp = Files.createTempFile(apps, "upload", ".tmp");
    try {
      MessageDigest sha;
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("the JDK has no SHA-256", e);
      }
      byte[] head;
      try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
        head = jar.readNBytes(4);
        out.write(head);
        jar.transferTo(out);
      }
      if (head.length < 4 || head[0] != 'P' || head[1] != 'K' || head[2] != 3 || head[3] != 4) {
        throw new IllegalArgumentException("the uploaded application is not a jar (no zip header): upload the .jar file");
      }
      String hex = HexFormat.of().formatHex(sha.digest());
      Path target = jar(hex);
      ContentAddressed.publish(tmp, target);
      ImageStore store = published;
      if (store != null) {
        store.putApp(hex, target); // before any workflow can name it: every worker finds it there
      }
      return hex;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
