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
}
