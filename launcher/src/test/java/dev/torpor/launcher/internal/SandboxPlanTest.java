package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SandboxPlanTest {
  private final SandboxPlan plan = new SandboxPlan(Path.of("/var/lib/torpor-run/abc"), Path.of("/usr/lib/jvm/java-17"),
      List.of(new SandboxPlan.Bind(Path.of("/var/lib/torpor-run/lib/f-1/app.jar"), Path.of("/var/lib/torpor-run/lib/f-1/app.jar"))));

  @Test
  void onAPlainHostEveryMountIsBoundFromWhereItIs() {
    List<SandboxPlan.Mount> mounts = plan.mounts(List.of(Path.of("/"), Path.of("/proc"), Path.of("/dev"), Path.of("/var/lib")));
    assertThat(mounts).allMatch(m -> m.source().equals(m.inside()));
    assertThat(mounts).extracting(SandboxPlan.Mount::key).doesNotHaveDuplicates().contains("etc", "usr", "run", "cp0")
        .noneMatch(k -> k.startsWith("nested"));
  }

  @Test
  void inAContainerEtcComesFromItsPlainCopyAndTheEnginesFilesAreMountsOfTheirOwn() {
    // Docker's: /etc/resolv.conf, /etc/hostname and /etc/hosts on the container's /etc (hosts twice: stacked).
    List<Path> points = List.of(Path.of("/"), Path.of("/proc"), Path.of("/proc/kcore"), Path.of("/dev"),
        Path.of("/etc/resolv.conf"), Path.of("/etc/hostname"), Path.of("/etc/hosts"), Path.of("/etc/hosts"),
        Path.of("/var/lib/torpor"));
    Map<String, SandboxPlan.Mount> byKey = plan.mounts(points).stream()
        .collect(Collectors.toMap(SandboxPlan.Mount::key, m -> m));
    assertThat(byKey.get("etc").source()).isEqualTo(Path.of("/run/torpor-host/etc"));
    assertThat(byKey.get("etc").inside()).isEqualTo(Path.of("/etc"));
    assertThat(byKey.get("usr").source()).isEqualTo(Path.of("/usr"));
    assertThat(byKey.get("nested/etc/hosts").source()).isEqualTo(Path.of("/etc/hosts"));
    assertThat(byKey.get("nested/etc/hosts").kind()).isEqualTo(SandboxPlan.Kind.READ_ONLY);
    assertThat(byKey).containsKeys("nested/etc/resolv.conf", "nested/etc/hostname").doesNotContainKey("nested/proc/kcore");
    // CRIU's keys: the nested ones come after /etc, whose mount they go on.
    List<String> keys = plan.mounts(points).stream().map(SandboxPlan.Mount::key).toList();
    assertThat(keys.indexOf("nested/etc/hosts")).isGreaterThan(keys.indexOf("etc"));
    assertThat(plan.dumpOptions()).isNotEmpty();
  }

  @Test
  void mountinfoEscapesAreUndone() {
    assertThat(SandboxPlan.unescape("/mnt/a\\040b\\011c\\134d")).isEqualTo("/mnt/a b\tc\\d");
    assertThat(SandboxPlan.unescape("/plain")).isEqualTo("/plain");
    assertThat(SandboxPlan.unescape("/end\\04")).isEqualTo("/end\\04");
  }
}
