package dev.torpor.launcher.cli;

import dev.torpor.launcher.internal.Doctor;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** Checks that this machine can checkpoint and restore JVMs. */
@Command(
    name = "doctor",
    mixinStandardHelpOptions = true,
    description = "Checks, one line per item, what this machine needs to checkpoint JVMs: CRIU >= 4.2,"
        + " `criu check`, capabilities, unshare with PID and time namespaces, the kernel. Exits 1 if anything is missing.")
public final class DoctorCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    List<Doctor.Check> checks = Doctor.run();
    for (Doctor.Check c : checks) {
      spec.commandLine().getOut().println((c.ok() ? "ok       " : "MISSING  ") + c.item() + ": " + c.detail());
    }
    return checks.stream().allMatch(Doctor.Check::ok) ? 0 : 1;
  }
}
