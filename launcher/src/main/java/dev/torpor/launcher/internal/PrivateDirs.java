package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Directories that only their owner (and, for the few a restore must cross, the workflow
 * namespace's root group) may enter. Each is created with its exact mode, or, when it exists,
 * checked: a symlink, a file, another owner, or a mode that lets others write is refused with a
 * message naming the path, so a directory a hostile local user created first is never used.
 */
public final class PrivateDirs {
  /** Owner only. */
  public static final int PRIVATE = 0700;
  /** Owner, and traversal (not listing) for the group: the workflow namespace's root, which CRIU restores as. */
  public static final int TRAVERSABLE = 0710;

  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

  private PrivateDirs() {}

  /** {@code dir}, created 0700 for this process's user or checked and tightened to 0700. */
  public static Path ensure(Path dir) throws IOException {
    return ensure(dir, PRIVATE, -1);
  }

  /**
   * {@code dir}, owned by this process's user with exactly {@code mode} and, if {@code gid} is not
   * -1, that group. Missing parents are created as usual (0755); the directory itself is created
   * with the mode, or, when it exists, must be a real directory owned by this user that nobody else
   * may write; then its mode and group are set.
   *
   * @throws TorporException naming the directory and the fix when it is not safe to use
   */
  public static Path ensure(Path dir, int mode, int gid) throws IOException {
    Path d = dir.toAbsolutePath().normalize();
    int me = currentUid();
    if (!Files.exists(d, NOFOLLOW)) {
      Files.createDirectories(d.getParent());
      try {
        Files.createDirectory(d);
      } catch (FileAlreadyExistsException raced) {
        // created meanwhile by someone else: checked below like any existing directory
      }
    }
    check(d, me, 0);
    if (gid >= 0) {
      Files.setAttribute(d, "unix:gid", gid, NOFOLLOW);
    }
    Files.setAttribute(d, "unix:mode", mode, NOFOLLOW);
    return d;
  }

  /**
   * Checks an existing directory: a real directory (not a symlink), owned by {@code uid}, that
   * neither group nor others may write unless {@code allowedWrite} has the bit.
   */
  static void check(Path d, int uid, int allowedWrite) throws IOException {
    if (Files.isSymbolicLink(d)) {
      throw new TorporException(d + " is a symbolic link (to " + Files.readSymbolicLink(d) + "): Torpor keeps private"
          + " files there and refuses to follow links; remove it, or choose another directory");
    }
    if (!Files.isDirectory(d, NOFOLLOW)) {
      throw new TorporException(d + " exists and is not a directory: remove it, or choose another directory");
    }
    int owner = (Integer) Files.getAttribute(d, "unix:uid", NOFOLLOW);
    if (owner != uid) {
      throw new TorporException(d + " belongs to uid " + owner + ", not " + uid + " (" + System.getProperty("user.name")
          + "): someone else made it, and could read or swap what Torpor writes there; remove it (check what is in"
          + " it first), or choose another directory");
    }
    int mode = (Integer) Files.getAttribute(d, "unix:mode", NOFOLLOW);
    if ((mode & 022 & ~allowedWrite) != 0) {
      throw new TorporException(d + " can be written by " + ((mode & 002) != 0 ? "every user" : "its group")
          + " (mode " + Integer.toOctalString(mode & 07777) + "): someone could swap files there; run chmod go-w " + d
          + " after checking its content, or choose another directory");
    }
  }

  /** Sets {@code file}'s mode and, if {@code gid} is not -1, its group, without following links. */
  static void setMode(Path file, int mode, int gid) throws IOException {
    if (gid >= 0) {
      Files.setAttribute(file, "unix:gid", gid, NOFOLLOW);
    }
    Files.setAttribute(file, "unix:mode", mode, NOFOLLOW);
  }

  /** The uid of this process (the owner of what it creates). */
  static int currentUid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }
}
