package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DoctorTest {
  @Test
  void doctorFindsEverythingOnThisMachine() {
    List<Doctor.Check> checks = Doctor.run();
    String report = checks.stream()
        .map(c -> (c.ok() ? "ok       " : "MISSING  ") + c.item() + ": " + c.detail())
        .collect(Collectors.joining("\n", "\n", "\n"));

    assertThat(checks).extracting(Doctor.Check::item)
        .as(report)
        .containsExactly("kernel", "criu", "criu check", "capabilities", "unshare", "nsenter, setpriv", "perl");
    assertThat(checks).as(report).allMatch(Doctor.Check::ok);
    assertThat(checks).as(report).allMatch(c -> !c.detail().isBlank());
  }

  @Test
  void criuCheckFailingOnlyOnNetworkNamespaceFeaturesIsGoodForTorpor() {
    // What `criu check` printed in a worker container on Docker's host network (ContainersIT).
    String container = String.join("\n",
        "Error (criu/tun.c:85): tun: Unable to create tun: No such file or directory",
        "Warn  (criu/sk-unix.c:224): unix: Unable to open a socket file: Operation not permitted",
        "Error (criu/libnetlink.c:54): -1 reported by netlink: Operation not permitted",
        "Error (criu/net.c:4151): net: Unable to create a veth pair: -1",
        "Error: Could not process rule: Operation not permitted",
        "Error (criu/net.c:1253): net: Unexpected error: -1(Operation not permitted)",
        "Error (criu/cr-check.c:160): sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system",
        "Warn  (criu/cr-check.c:1674): Does not look good.");
    Doctor.Check ok = Doctor.judgeCriuCheck(1, container);
    assertThat(ok.ok()).as(ok.detail()).isTrue();
    assertThat(ok.detail()).contains("good for Torpor").contains("(6:");

    Doctor.Check bad = Doctor.judgeCriuCheck(1, container + "\nError (criu/cr-check.c:1111): Kernel doesn't support PTRACE_O_SUSPEND_SECCOMP");
    assertThat(bad.ok()).isFalse();
    assertThat(bad.detail()).contains("PTRACE_O_SUSPEND_SECCOMP").doesNotContain("tun:");

    assertThat(Doctor.judgeCriuCheck(1, "").ok()).isFalse();
    assertThat(Doctor.judgeCriuCheck(0, "Looks good.").detail()).isEqualTo("Looks good");
  }
}
