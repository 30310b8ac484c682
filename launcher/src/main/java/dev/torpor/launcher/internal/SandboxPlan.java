package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What one workflow JVM sees of the host: a read-only {@code /usr} and {@code /etc} (and the JDK,
 * wherever it is), five device nodes, its own {@code /proc}, the copies of its class path in the
 * worker's library (read-only), and its run directory, writable. Nothing else: not the worker's data, keys
 * or token, nor other workflows' run directories. Every mount but {@code /proc} is a bind mount
 * that CRIU dumps as external under a key and binds again at a restore, so the image holds no
 * host path it could be pointed elsewhere with.
 *
 * @param runDir the workflow's run directory: its working directory, sockets and {@code /tmp}
 * @param javaHome the JDK it runs on
 * @param classPath its class path entries outside the system directories: where the JVM sees each
 *     and the host file bound there (today the same path, a copy in the worker's library)
 */
record SandboxPlan(Path runDir, Path javaHome, List<Bind> classPath) {
  /** The device nodes a workflow gets. */
  static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom");
  /** Host directories every workflow sees, read-only, when they are real directories. */
  static final List<String> SYSTEM = List.of("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32");
  /** The manifest fact that records the class path. */
  static final String CLASS_PATH_FACT = "classPath";

  /** A class path entry: seen by the JVM at {@code inside}, bound from {@code source}. */
  record Bind(Path inside, Path source) {}

  enum Kind {
    READ_ONLY("ro,nosuid,nodev"),
    DEVICE("nosuid,noexec"),
    READ_WRITE("nosuid,nodev");

    final String options;

    Kind(String options) {
      this.options = options;
    }
  }

  /** One bind mount: CRIU's external key, where the workflow sees it, and the host path behind it. */
  record Mount(String key, Path inside, Path source, Kind kind) {}

  SandboxPlan {
    classPath = List.copyOf(classPath);
  }

  /** Every bind mount, parents before children. */
  List<Mount> mounts() {
    return mounts(hostMountPoints());
  }

  /** Every bind mount, on a machine whose mount points are {@code points}. */
  List<Mount> mounts(List<Path> points) {
    List<Mount> m = new ArrayList<>();
    for (String dir : SYSTEM) {
      Path p = Path.of("/", dir);
      if (Files.isDirectory(p) && !Files.isSymbolicLink(p)) {
        m.add(new Mount(dir, p, p, Kind.READ_ONLY));
      }
    }
    if (!underSystem(javaHome)) {
      m.add(new Mount("jdk", javaHome, javaHome, Kind.READ_ONLY));
    }
    // Mounts the host has under those (a container engine's /etc/hosts, /etc/resolv.conf and
    // /etc/hostname, say) are bound and external too, each under a key of its own. A mount with
    // others under it is bound from its plain copy (see hostCopy).
    List<Path> tops = m.stream().map(Mount::inside).toList();
    for (Path p : points.stream().distinct().toList()) {
      if (tops.stream().anyMatch(t -> p.startsWith(t) && !p.equals(t))) {
        m.add(new Mount("nested" + p, p, p, Kind.READ_ONLY));
      }
    }
    m.replaceAll(x -> hasMountsUnder(x.inside(), points) ? new Mount(x.key(), x.inside(), hostCopy(x.inside()), x.kind()) : x);
    for (String d : DEVICES) {
      m.add(new Mount("dev-" + d, Path.of("/dev", d), Path.of("/dev", d), Kind.DEVICE));
    }
    m.add(new Mount("run", runDir, runDir, Kind.READ_WRITE));
    for (int i = 0; i < classPath.size(); i++) {
      Bind b = classPath.get(i);
      m.add(new Mount("cp" + i, b.inside(), b.source(), Kind.READ_ONLY));
    }
    return m;
  }

  /**
   * Where workers keep host mounts bound without the mounts under them, and a plain {@code /proc}:
   * one place per machine (or container), outside every data and run directory, so that nothing
   * that deletes a directory tree ever walks into them.
   */
  static final Path HOST_COPIES = Path.of("/run/torpor-host");

  /**
   * The plain copy of host mount {@code p}: the same files, bound read-only without the mounts
   * under it. In a workflow's mount namespace the mounts it inherits are locked together, so the
   * kernel refuses a plain bind of a directory with mounts under it, and CRIU restores every
   * external mount with a plain bind ({@code open_tree} without {@code AT_RECURSIVE}).
   */
  static Path hostCopy(Path p) {
    return HOST_COPIES.resolve(p.toString().substring(1));
  }

  /** Whether {@code p} has other mount points under it. */
  static boolean hasMountsUnder(Path p, List<Path> points) {
    return points.stream().anyMatch(o -> o.startsWith(p) && !o.equals(p));
  }

  /** The mount points of this process's mount namespace, in mount order. */
  static List<Path> hostMountPoints() {
    List<Path> points = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] f = line.split(" ");
        if (f.length > 4) {
          points.add(Path.of(unescape(f[4])));
        }
      }
    } catch (java.io.IOException e) {
      throw new TorporException("cannot read /proc/self/mountinfo to find the mounts under the system directories: " + e);
    }
    return points;
  }

  /** mountinfo's escapes: a space, tab, newline or backslash as three octal digits. */
  static String unescape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** Whether the JVM sees {@code p} through the system mounts already. */
  static boolean underSystem(Path p) {
    Path a = p.toAbsolutePath().normalize();
    return a.getNameCount() > 0 && SYSTEM.contains(a.getName(0).toString())
        && Files.isDirectory(Path.of("/", a.getName(0).toString()));
  }

  /** {@code criu dump} options: every bind mount is external, under its key. */
  List<String> dumpOptions() {
    List<String> o = new ArrayList<>();
    for (Mount m : mounts()) {
      o.add("--external");
      o.add("mnt[" + m.inside() + "]:" + m.key());
    }
    return o;
  }

  /** {@code criu restore} options: the root to restore the mount namespace on, and each key's host path. */
  List<String> restoreOptions(Path root) {
    List<String> o = new ArrayList<>(List.of("--root", root.toString()));
    for (Mount m : mounts()) {
      o.add("--external");
      o.add("mnt[" + m.key() + "]:" + m.source());
    }
    return o;
  }

  /** The class path as an image's manifest keeps it: a line per entry, inside path TAB source. */
  String classPathFact() {
    StringBuilder s = new StringBuilder();
    for (Bind b : classPath) {
      s.append(b.inside()).append('\t').append(b.source()).append('\n');
    }
    return s.toString();
  }

  /**
   * The plan of an image, from its manifest's restore facts. Every source must be a file under
   * {@code lib} (the worker's library directory) and every path absolute and normal; anything
   * else is refused, so that no image can have a host path bound into a workflow.
   */
  static SandboxPlan fromFacts(Map<String, String> restore, Path javaHome, Path lib) {
    String runDir = restore.get("runDir");
    String cp = restore.get(CLASS_PATH_FACT);
    if (runDir == null || cp == null) {
      throw new TorporException("the image's manifest lacks the sandbox facts (runDir, classPath): it was made by an"
          + " older Torpor, whose workflows ran as root; finish or cancel such workflows with that version");
    }
    List<Bind> binds = new ArrayList<>();
    for (String line : cp.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split("\t", -1);
      if (f.length != 2) {
        throw new TorporException("the image's class path fact has a malformed line '" + line + "'");
      }
      Path inside = normalAbsolute(f[0]);
      Path source = normalAbsolute(f[1]);
      if (!source.startsWith(lib) || source.equals(lib)) {
        throw new TorporException("the image binds " + source + ", which is not under the workflow library " + lib
            + ": refused");
      }
      binds.add(new Bind(inside, source));
    }
    return new SandboxPlan(normalAbsolute(runDir), javaHome, binds);
  }

  private static Path normalAbsolute(String s) {
    Path p = Path.of(s);
    if (!p.isAbsolute() || !p.normalize().equals(p) || s.contains("\n") || s.contains("]") || s.contains(":")) {
      throw new TorporException("the image names the path '" + s + "', which is not absolute and normal: refused");
    }
    return p;
  }
}
