package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.launcher.it.workflows.Approval;
import dev.torpor.launcher.it.workflows.FiveWaits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The packaged {@code torpor} jar, run as a user would, in separate worker processes. */
class CliIT {
  private Path base;
  private Path data;

  record Result(int exitCode, String out, String err) {}

  @BeforeEach
  void makeDataDir() throws IOException {
    base = TestDirs.traversable("torpor-cli-");
    data = base.resolve("data");
  }

  @AfterEach
  void removeDataDir() throws IOException {
    try (Stream<Path> walk = Files.walk(base)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Test
  void aSecondWorkerProcessRestoresWhatTheFirstSuspended() throws Exception {
    String id = "cli-approval-" + ProcessHandle.current().pid();
    Result first = torpor("run", "--until-suspended", "--quiet", "--id", id,
        "--cp", WorkerHarness.workflowClasses().toString(), "--main", Approval.class.getName());
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out().strip()).isEqualTo(id + " 1");

    Result second = torpor("resume", "--id", id, "--signal", "approve=from the second worker");
    assertThat(second.exitCode()).as(second.err()).isZero();
    assertThat(second.out()).contains("approved: from the second worker name=approve").contains("x: timeout");
    assertThat(second.err()).contains("resumed from seq 1").contains("exited with code 0");
    List<String> log = Files.readAllLines(data.resolve("logs").resolve(id + ".log"));
    assertThat(log).hasSize(3);
    assertThat(log.get(0)).isEqualTo("waiting for approve");
    assertThat(log.get(1)).isEqualTo("approved: from the second worker name=approve");
  }

  @Test
  void resumeOfASignalWaitWithoutTheSignalSaysWhatToPass() throws Exception {
    String id = "cli-nosignal-" + ProcessHandle.current().pid();
    assertThat(torpor("run", "--until-suspended", "--quiet", "--id", id,
        "--cp", WorkerHarness.workflowClasses().toString(), "--main", Approval.class.getName()).exitCode()).isZero();

    Result r = torpor("resume", "--id", id);
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("waits for signal 'approve'").contains("--signal approve=PAYLOAD");
    assertThat(Files.list(data.resolve("store/images").resolve(id)).count()).as("nothing was lost").isEqualTo(2);
  }

  @Test
  void runReturnsTheWorkflowsExitCodeAndPrintsItsOutput() throws Exception {
    Result r = torpor("run", "--cp", WorkerHarness.workflowClasses().toString(), "--main", FiveWaits.class.getName());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out().lines().filter(l -> l.startsWith("wait ")).count()).isEqualTo(5);
    assertThat(r.err()).contains("suspended at seq 5").contains("no process is left running");
  }

  @Test
  void withoutAWorkerTheWorkflowRunsInMemoryAndSaysSo() throws Exception {
    List<Path> agent;
    try (Stream<Path> jars = Files.walk(Path.of(System.getProperty("torpor.cli.jar")).getParent().resolve("classes/dev/torpor/launcher/agent"))) {
      agent = jars.filter(p -> p.toString().endsWith(".jar")).toList();
    }
    List<String> cp = new ArrayList<>();
    agent.forEach(p -> cp.add(p.toString()));
    cp.add(WorkerHarness.workflowClasses().toString());
    Result r = exec(List.of(javaBin(), "-cp", String.join(":", cp), FiveWaits.class.getName()), false);
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out().lines().filter(l -> l.startsWith("wait ")).count()).isEqualTo(5);
    assertThat(r.err().lines().filter(l -> l.contains("nothing is durable")).count()).isEqualTo(1);
  }

  private Result torpor(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "-jar", System.getProperty("torpor.cli.jar")));
    cmd.add(args[0]);
    cmd.addAll(List.of("--data", data.toString(), "--run-dir", base.resolve("run").toString()));
    cmd.addAll(List.of(args).subList(1, args.length));
    return exec(cmd, true);
  }

  private Result exec(List<String> cmd, boolean torporEnv) throws Exception {
    Path out = base.resolve("out-" + System.nanoTime());
    Path err = base.resolve("err-" + System.nanoTime());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    if (!torporEnv) {
      pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_"));
    }
    Process p = pb.start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("finished in time: " + cmd).isTrue();
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
