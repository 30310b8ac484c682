package dev.torpor.launcher.cli;

import dev.torpor.TorporException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command. Exit codes are documented in {@link ExitCodes}. */
@Command(
    name = "torpor",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Durable execution for plain Java: the whole JVM is checkpointed at every wait.",
    subcommands = {RunCommand.class, ResumeCommand.class, DoctorCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success (for run/resume: the workflow exited 0)",
      "N:run/resume: the workflow's own exit code N",
      "2:bad usage or bad input",
      "125:Torpor itself failed (CRIU missing or too old, store unreadable, ...)"
    })
public final class TorporCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The configured command line, shared by {@code main} and the tests. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new TorporCommand());
    cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
      if (ex instanceof IllegalArgumentException) {
        cmd.getErr().println("torpor: " + ex.getMessage());
        return ExitCodes.USAGE;
      }
      if (ex instanceof TorporException || ex instanceof java.io.IOException) {
        cmd.getErr().println("torpor: " + ex.getMessage());
        return ExitCodes.FAILURE;
      }
      throw ex;
    });
    return cl;
  }
}
