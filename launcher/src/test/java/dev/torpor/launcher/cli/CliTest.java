package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.SignalName;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

class CliTest {
  private static final String ID_RULE = "use 1 to 128 characters from A-Z a-z 0-9 . _ -";

  @TempDir Path tmp;

  /** What one execution of the command line printed and returned. */
  record Result(int exitCode, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- out:\n" + out + "--- err:\n" + err;
    }
  }

  /** Runs {@code torpor args} in this JVM, capturing picocli's out and err; never exits. */
  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = TorporCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  /** {@code run} with valid options (a class path that exists, data and run dirs under tmp) plus {@code extra}. */
  private String[] runArgs(String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "run", "--main", "example.Main", "--cp", tmp.toString(),
        "--data", tmp.resolve("data").toString(), "--store", tmp.resolve("store").toString(),
        "--run-dir", tmp.resolve("run").toString()));
    args.addAll(Arrays.asList(extra));
    return args.toArray(String[]::new);
  }

  @Test
  void helpListsCommandsAndExitCodes() {
    Result r = run("--help");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).as(r.toString())
        .containsPattern("(?m)^\\s+run\\s")
        .containsPattern("(?m)^\\s+worker\\s")
        .containsPattern("(?m)^\\s+resume\\s")
        .containsPattern("(?m)^\\s+doctor\\s")
        .contains("Exit codes:")
        .containsPattern("(?m)^\\s+2\\s+bad usage")
        .containsPattern("(?m)^\\s+125\\s+Torpor itself failed");
  }

  @Test
  void doctorPrintsOneOkLinePerItem() {
    Result r = run("doctor");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines).as(r.toString()).hasSize(7).allMatch(l -> l.startsWith("ok "));
    assertThat(lines).as(r.toString())
        .anyMatch(l -> l.contains(" kernel: "))
        .anyMatch(l -> l.contains(" criu: CRIU "))
        .anyMatch(l -> l.contains(" criu check: "))
        .anyMatch(l -> l.contains(" capabilities: "))
        .anyMatch(l -> l.contains(" unshare: "))
        .anyMatch(l -> l.contains(" nsenter, setpriv: "))
        .anyMatch(l -> l.contains(" perl: "));
  }

  @Test
  void clusterOptionsAreCheckedBeforeAnythingStarts() {
    Result noDb = run("worker", "--data", "/tmp/torpor-clitest-worker");
    assertThat(noDb.exitCode()).as(noDb.toString()).isEqualTo(2);
    assertThat(noDb.err()).contains("--db-url jdbc:postgresql://");

    Result h2 = run("server", "--no-worker", "--db-url", "jdbc:h2:file:/tmp/x");
    assertThat(h2.exitCode()).as(h2.toString()).isEqualTo(2);
    assertThat(h2.err()).contains("is not PostgreSQL");

    Result badName = run("worker", "--db-url", "jdbc:postgresql://127.0.0.1:1/x", "--name", "two words");
    assertThat(badName.exitCode()).as(badName.toString()).isEqualTo(2);
    assertThat(badName.err()).contains("--name must be").contains("'two words'");

    Result shortLease = run("worker", "--db-url", "jdbc:postgresql://127.0.0.1:1/x", "--name", "w1", "--lease-ttl", "1s");
    assertThat(shortLease.exitCode()).as(shortLease.toString()).isEqualTo(2);
    assertThat(shortLease.err()).contains("--lease-ttl must be at least 2s");

    Result metrics = run("worker", "--db-url", "jdbc:postgresql://127.0.0.1:1/x", "--name", "w1",
        "--metrics-listen", "0.0.0.0:9100");
    assertThat(metrics.exitCode()).as(metrics.toString()).isEqualTo(2);
    assertThat(metrics.err()).contains("--metrics-listen 0.0.0.0:9100 is not a loopback address");

    Result both = run("server", "--no-worker", "--cluster");
    assertThat(both.exitCode()).as(both.toString()).isEqualTo(2);
    assertThat(both.err()).contains("exclude each other");
  }

  @Test
  void runWithoutMainIsUsageError() {
    Result r = run("run", "--cp", tmp.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("--main");
  }

  @Test
  void runWithMissingClassPathEntryIsUsageError() {
    Result r = run("run", "--main", "X", "--cp", "/does/not/exist",
        "--data", tmp.resolve("data").toString(), "--run-dir", tmp.resolve("run").toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("/does/not/exist").contains("does not exist");
  }

  @Test
  void theTestKitsControlTakesNoSignalsOfItsOwn() {
    Result r = run("run", "--main", "X", "--cp", tmp.toString(), "--test-control", tmp.toString(), "--signal", "a=b",
        "--data", tmp.resolve("data").toString(), "--run-dir", tmp.resolve("run").toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("--test-control is torpor-testing's");
  }

  @Test
  void runWithoutClassPathIsUsageError() {
    Result r = run("run", "--main", "X", "--data", tmp.resolve("data").toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("--jar or --cp");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a/b", "..", "a b", "_leading-underscore", ".hidden"})
  void runRefusesInvalidId(String id) {
    Result r = run(runArgs("--id", id));

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("'" + id + "'").contains(ID_RULE);
    assertThat(tmp.resolve("data")).doesNotExist();
  }

  @Test
  void runRefusesIdOf129Characters() {
    Result r = run(runArgs("--id", "a".repeat(129)));

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains(ID_RULE);
  }

  @Test
  void runRefusesSignalWithoutEquals() {
    Result r = run(runArgs("--signal", "approve"));

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("'approve'").contains("NAME=PAYLOAD");
  }

  @Test
  void runRefusesSignalPayloadFromMissingFile() {
    Result r = run(runArgs("--signal", "approve=@/missing/file"));

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("/missing/file").contains("approve");
  }

  @Test
  void runRefusesSignalPayloadOverOneMebibyte() throws IOException {
    Path big = tmp.resolve("big.bin");
    Files.write(big, new byte[SignalOption.MAX_PAYLOAD + 1]);

    Result r = run(runArgs("--signal", "approve=@" + big));

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains("1048577 bytes").contains("1 MiB");
  }

  @Test
  void signalOptionAcceptsPayloadOfExactlyOneMebibyte() throws IOException {
    Path max = tmp.resolve("max.bin");
    Files.write(max, new byte[SignalOption.MAX_PAYLOAD]);

    SignalOption s = SignalOption.parse("approve=@" + max);

    assertThat(s.name()).isEqualTo(SignalName.of("approve"));
    assertThat(s.payload()).hasSize(1 << 20);
  }

  @Test
  void signalOptionKeepsTextAfterFirstEquals() {
    SignalOption s = SignalOption.parse("note=a=b");

    assertThat(s.name()).isEqualTo(SignalName.of("note"));
    assertThat(new String(s.payload(), StandardCharsets.UTF_8)).isEqualTo("a=b");
  }

  @Test
  void resumeOfUnknownWorkflowFails() throws Exception {
    // The run base's parents must be crossable by the workflow namespace's root (JUnit makes 0700).
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    Result r = run("resume", "--id", "nosuch", "--data", tmp.resolve("data").toString(),
        "--store", tmp.resolve("store").toString(), "--run-dir", tmp.resolve("run").toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).as(r.toString()).contains("nosuch").contains("has no committed image");
  }

  @Test
  void storeOptionsAreCheckedBeforeAnythingRuns() throws Exception {
    Result s3OptionWithoutS3 = run(runArgs("--s3-endpoint", "http://127.0.0.1:9"));
    assertThat(s3OptionWithoutS3.exitCode()).as(s3OptionWithoutS3.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(s3OptionWithoutS3.err()).contains("--store is not an s3:// URI");

    Result badUri = run("resume", "--id", "x", "--data", tmp.resolve("data").toString(), "--store", "s3://Bad_Bucket",
        "--run-dir", tmp.resolve("run").toString());
    assertThat(badUri.exitCode()).as(badUri.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(badUri.err()).contains("Bad_Bucket");

    java.nio.file.Path keyFile = tmp.resolve("keys");
    java.nio.file.Files.writeString(keyFile, "not a key\n");
    Result badKey = run(runArgs("--image-key-file", keyFile.toString()));
    assertThat(badKey.exitCode()).as(badKey.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(badKey.err()).contains(keyFile.toString()).contains("line 1");

    Result retry = run(runArgs("--store-retry", "soon"));
    assertThat(retry.exitCode()).as(retry.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(retry.err()).contains("'soon' is not a duration");
  }

  @Test
  void keygenPrintsAKeyTheKeyringReads() {
    Result r = run("images", "keygen");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(dev.torpor.storage.crypto.ImageKeyring.fromEnvironmentValue("TEST", r.out()).keyIds()).hasSize(1);
  }

  @Test
  void resumeRefusesInvalidId() {
    Result r = run("resume", "--id", "../x", "--data", tmp.resolve("data").toString(),
        "--run-dir", tmp.resolve("run").toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).as(r.toString()).contains(ID_RULE);
  }

  @Test
  void runWithMissingCriuFailsNamingInstallScript() throws Exception {
    Path missing = tmp.resolve("no-such-dir").resolve("criu");

    Result r = runInSubprocess(missing);

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).as(r.toString()).contains("TORPOR_CRIU").contains(missing.toString())
        .contains("scripts/install-criu.sh");
  }

  @Test
  void runWithOldCriuFailsNamingVersionAndInstallScript() throws Exception {
    Path fake = tmp.resolve("criu");
    Files.writeString(fake, "#!/bin/sh\necho 'Version: 3.17.1'\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));

    Result r = runInSubprocess(fake);

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.FAILURE);
    assertThat(r.err()).as(r.toString())
        .contains("3.17.1")
        .contains("older than 4.2")
        .contains("scripts/install-criu.sh");
  }

  /** Runs {@code torpor run} with valid options in a new JVM whose TORPOR_CRIU is {@code criu}. */
  private Result runInSubprocess(Path criu) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.torpor.launcher.Main"));
    cmd.addAll(Arrays.asList(runArgs("--id", "wf-old-criu", "--quiet")));
    Path out = tmp.resolve("sub.out");
    Path err = tmp.resolve("sub.err");
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(out.toFile())
        .redirectError(err.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("TORPOR_"));
    pb.environment().put("TORPOR_CRIU", criu.toString());
    Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("torpor run did not finish in 60 s: " + Files.readString(err));
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }
}
