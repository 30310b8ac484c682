package dev.torpor.internal.crac;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code org.crac} on a stock JDK with {@code -Dorg.crac.Core.Compat=dev.torpor.internal.crac},
 * as a worker starts workflow JVMs: each scenario of {@link CompatScenarios} runs in a JVM of its
 * own, since {@code org.crac.Core} picks its implementation once, when it is first used.
 */
class OrgCracCompatTest {
  @Test
  void theOptionAWorkerSetsNamesThisPackage() {
    assertThat(Core.COMPAT_PACKAGE).isEqualTo(Core.class.getPackageName());
    assertThat(Core.SYSTEM_PROPERTY_OPTION).isEqualTo("-Dorg.crac.Core.Compat=dev.torpor.internal.crac");
  }

  @Test
  void theGlobalContextRunsInCracOrderWithTorporsOwnResourcesAtTheirPlace() throws Exception {
    assertThat(run(true, "order"))
        .containsExactly("global true", "before C", "before T", "before B", "before A", "failures []",
            "after A", "after B", "after T", "after C", "failures []");
  }

  @Test
  void withoutThePropertyOnlyTorporsOwnResourcesRun() throws Exception {
    assertThat(run(false, "order")).containsExactly("global false", "before T", "failures []", "after T", "failures []");
  }

  @Test
  void checkpointRestoreIsASavepointThatRunsEachHookOnce() throws Exception {
    assertThat(run(true, "savepoint"))
        .containsExactly("before C", "before T", "before A", "after A", "after T", "after C", "returned");
  }

  @Test
  void withoutThePropertyCheckpointRestoreIsUnsupportedAsOnAnyStockJdk() throws Exception {
    List<String> out = run(false, "savepoint");
    assertThat(out).doesNotContain("returned", "before A");
    assertThat(String.join("\n", out)).contains("UnsupportedOperationException");
  }

  @Test
  void aRefusalIsACheckpointExceptionWithEveryFailureSuppressedAfterRestoreRanAnyway() throws Exception {
    assertThat(run(true, "refused"))
        .containsExactly("before T", "before B", "before A", "after A", "after B", "after T",
            "CheckpointException [T refuses, B refuses, A cannot reconnect]");
  }

  @Test
  void afterRestoreFailuresAreARestoreException() throws Exception {
    assertThat(run(true, "restore-failed"))
        .containsExactly("before T", "before A", "after A", "after T",
            "RestoreException [A cannot reconnect, T cannot reconnect]");
  }

  @Test
  void resourcesNobodyHoldsAreCollectedAndNotCalled() throws Exception {
    assertThat(run(true, "weak")).containsExactly("collected true", "before kept", "after kept");
  }

  /** Runs a scenario; returns its stdout lines (stderr goes to the test's own). */
  private static List<String> run(boolean compat, String scenario) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path")));
    if (compat) {
      cmd.add("-D" + Core.COMPAT_PROPERTY + "=" + Core.COMPAT_PACKAGE);
    }
    cmd.addAll(List.of(CompatScenarios.class.getName(), scenario));
    Path err = Files.createTempFile("compat-scenario", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_"));
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("scenario " + scenario + " did not finish in 60 s");
      }
      List<String> lines = new ArrayList<>(out.lines().toList());
      if (p.exitValue() != 0) {
        lines.add("exit " + p.exitValue() + ": " + Files.readString(err));
      }
      return lines;
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
