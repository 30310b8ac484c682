package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The host identity workflow JVMs run as: {@code uid}/{@code gid}, the same inside their user
 * namespace. The namespace's root is mapped to {@code uid + 1}/{@code gid + 1}: no process runs as
 * it but CRIU while it restores a workflow, and the only thing it may do on the host is cross the
 * directories a restore reads (they are group {@code gid + 1}, mode 0710). Neither id may be 0 or
 * belong to an account of this machine.
 */
public record WorkflowUser(int uid, int gid) {
  /** The default: far above the ids of accounts and of the usual subordinate-id ranges. */
  public static final WorkflowUser DEFAULT = new WorkflowUser(2_000_000, 2_000_000);

  public WorkflowUser {
    if (uid <= 0 || gid <= 0 || uid >= Integer.MAX_VALUE - 1 || gid >= Integer.MAX_VALUE - 1) {
      throw new IllegalArgumentException("the workflow user must be a uid and gid above 0 (and below "
          + (Integer.MAX_VALUE - 1) + "), got " + uid + ":" + gid + ": workflow code must never run as root");
    }
  }

  /** Parses {@code UID[:GID]} (GID defaults to UID). */
  public static WorkflowUser parse(String s) {
    String v = s == null ? "" : s.strip();
    String[] parts = v.split(":", -1);
    try {
      if (parts.length == 1) {
        int id = Integer.parseInt(parts[0]);
        return new WorkflowUser(id, id);
      }
      if (parts.length == 2) {
        return new WorkflowUser(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
      }
    } catch (NumberFormatException e) {
      // described below
    }
    throw new IllegalArgumentException("--workflow-user must be UID or UID:GID in numbers, such as 2000000:2000000,"
        + " not '" + s + "'");
  }

  /** The host uid of the workflow namespace's root. */
  public int namespaceRootUid() {
    return uid + 1;
  }

  /** The host gid of the workflow namespace's root: the group of the directories a restore crosses. */
  public int namespaceRootGid() {
    return gid + 1;
  }

  /** The user namespace's uid map: the namespace's root, and the workflow user as itself. */
  String uidMap() {
    return "0 " + namespaceRootUid() + " 1\n" + uid + " " + uid + " 1\n";
  }

  /** The user namespace's gid map. */
  String gidMap() {
    return "0 " + namespaceRootGid() + " 1\n" + gid + " " + gid + " 1\n";
  }

  /**
   * Refuses ids that belong to an account ({@code /etc/passwd}, {@code /etc/group}) or fall in a
   * subordinate range ({@code /etc/subuid}, {@code /etc/subgid}) of this machine: a workflow
   * sharing them could read that account's files or enter its containers.
   */
  public void checkUnused() throws IOException {
    clash("/etc/passwd", uid, namespaceRootUid(), 2).ifPresent(this::refuse);
    clash("/etc/group", gid, namespaceRootGid(), 2).ifPresent(this::refuse);
    subordinate("/etc/subuid", uid, namespaceRootUid()).ifPresent(this::refuse);
    subordinate("/etc/subgid", gid, namespaceRootGid()).ifPresent(this::refuse);
  }

  private void refuse(String why) {
    throw new TorporException("the workflow user " + uid + ":" + gid + " (and " + namespaceRootUid() + ":"
        + namespaceRootGid() + " for its namespace's root) " + why + ": choose free ids with --workflow-user UID:GID"
        + " (TORPOR_WORKFLOW_USER)");
  }

  private static Optional<String> clash(String file, int a, int b, int field) throws IOException {
    for (String line : lines(file)) {
      String[] f = line.split(":");
      if (f.length > field && (f[field].equals(Integer.toString(a)) || f[field].equals(Integer.toString(b)))) {
        return Optional.of("clashes with '" + f[0] + "' in " + file);
      }
    }
    return Optional.empty();
  }

  private static Optional<String> subordinate(String file, int a, int b) throws IOException {
    for (String line : lines(file)) {
      String[] f = line.split(":");
      if (f.length == 3) {
        try {
          long start = Long.parseLong(f[1].strip());
          long count = Long.parseLong(f[2].strip());
          if ((a >= start && a < start + count) || (b >= start && b < start + count)) {
            return Optional.of("falls in the subordinate ids " + start + "-" + (start + count - 1) + " of '" + f[0]
                + "' in " + file);
          }
        } catch (NumberFormatException e) {
          // not a range line
        }
      }
    }
    return Optional.empty();
  }

  private static List<String> lines(String file) throws IOException {
    Path p = Path.of(file);
    return Files.isReadable(p) ? Files.readAllLines(p, StandardCharsets.UTF_8) : List.of();
  }

  @Override
  public String toString() {
    return uid + ":" + gid;
  }
}
