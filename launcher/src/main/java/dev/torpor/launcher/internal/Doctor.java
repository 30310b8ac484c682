package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What this machine lacks to checkpoint and restore JVMs, one item at a time. */
public final class Doctor {
  private static final int CAP_SYS_PTRACE = 19;
  private static final int CAP_SYS_ADMIN = 21;
  private static final int CAP_CHECKPOINT_RESTORE = 40;

  /** One checked item: whether it is fine and what was found or what to do. */
  public record Check(String item, boolean ok, String detail) {}

  private Doctor() {}

  public static List<Check> run() {
    List<Check> checks = new ArrayList<>();
    checks.add(kernel());
    CriuEngine criu = null;
    try {
      criu = CriuEngine.locate();
      checks.add(new Check("criu", true, "CRIU " + criu.version() + " at " + criu.binary()));
    } catch (TorporException e) {
      checks.add(new Check("criu", false, e.getMessage()));
    }
    checks.add(criu == null ? new Check("criu check", false, "skipped: no usable CRIU") : criuCheck(criu));
    checks.add(capabilities());
    checks.add(command("unshare", List.of("unshare", "--user", "--pid", "--mount", "--time", "--ipc", "--fork", "true"),
        "user, PID, mount, time and IPC namespaces work (workflows run unprivileged in them)",
        "install util-linux (>= 2.38), run as root, and allow user namespaces (sysctl user.max_user_namespaces > 0)"));
    checks.add(command("nsenter, setpriv", List.of("sh", "-c", "command -v nsenter && command -v setpriv && command -v pivot_root"),
        "present (build a workflow's root and drop its privileges)", "install util-linux"));
    checks.add(command("perl", List.of("perl", "-e", "exit 0"),
        "present (reports exit codes of restored JVMs)", "install perl-base"));
    return checks;
  }

  private static Check kernel() {
    String release = read("/proc/sys/kernel/osrelease").strip();
    boolean timeNs = Files.exists(Path.of("/proc/self/ns/time"));
    return new Check("kernel", timeNs, "Linux " + release
        + (timeNs ? " with time namespaces" : " lacks time namespaces (needs 5.6+)"));
  }

  private static Check criuCheck(CriuEngine criu) {
    try {
      CriuEngine.ProcessResult r = CriuEngine.ProcessResult.run(List.of(criu.binary().toString(), "check"), 60);
      return judgeCriuCheck(r.exitCode(), r.output());
    } catch (IOException e) {
      return new Check("criu check", false, "could not run: " + e.getMessage());
    }
  }

  /**
   * {@code criu check}'s errors that do not concern Torpor: workflows share the worker's network
   * namespace, so CRIU never makes a tun device, a veth pair or an nftables table, nor dumps a
   * network namespace; a restore sets PIDs with {@code clone3}, not {@code ns_last_pid}; and a
   * CRIU that cannot raise its own open-file limit goes on. In a container (Docker's host
   * network, without CAP_NET_ADMIN over it while checking), these are all that fails.
   */
  static final List<String> IRRELEVANT = List.of("criu/tun.c", "criu/net.c", "criu/libnetlink.c",
      "ns_last_pid", "RLIMIT_NOFILE", "Could not process rule");

  /** The verdict on {@code criu check}'s exit code and output. */
  static Check judgeCriuCheck(int exitCode, String output) {
    String out = output.strip();
    if (exitCode == 0 && out.contains("Looks good")) {
      return new Check("criu check", true, "Looks good");
    }
    List<String> errors = out.lines().filter(l -> l.startsWith("Error")).toList();
    List<String> relevant = errors.stream().filter(l -> IRRELEVANT.stream().noneMatch(l::contains)).toList();
    if (!errors.isEmpty() && relevant.isEmpty()) {
      return new Check("criu check", true, "good for Torpor: only checks of what it does not use failed ("
          + errors.size() + ": network namespaces, tun, ns_last_pid; workflows share the worker's network)");
    }
    String last = relevant.isEmpty() ? (out.isEmpty() ? "" : out.substring(out.lastIndexOf('\n') + 1)) : String.join(" | ", relevant);
    return new Check("criu check", false, "failed (exit " + exitCode + "): " + last);
  }

  private static Check capabilities() {
    long eff = 0;
    for (String line : read("/proc/self/status").split("\n")) {
      if (line.startsWith("CapEff:")) {
        eff = Long.parseUnsignedLong(line.substring(7).strip(), 16);
      }
    }
    boolean ptrace = (eff & (1L << CAP_SYS_PTRACE)) != 0;
    boolean cr = (eff & (1L << CAP_CHECKPOINT_RESTORE)) != 0 || (eff & (1L << CAP_SYS_ADMIN)) != 0;
    boolean ok = ptrace && cr;
    return new Check("capabilities", ok, ok ? "CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN)"
        : "need CAP_SYS_PTRACE and CAP_CHECKPOINT_RESTORE (or run as root)");
  }

  private static Check command(String item, List<String> cmd, String good, String fix) {
    try {
      CriuEngine.ProcessResult r = CriuEngine.ProcessResult.run(cmd, 20);
      return r.exitCode() == 0 ? new Check(item, true, good)
          : new Check(item, false, "`" + String.join(" ", cmd) + "` exited " + r.exitCode() + ": " + r.output().strip() + "; " + fix);
    } catch (IOException e) {
      return new Check(item, false, "`" + cmd.get(0) + "` cannot run: " + e.getMessage() + "; " + fix);
    }
  }

  private static String read(String path) {
    try {
      return Files.readString(Path.of(path), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
