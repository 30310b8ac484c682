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
    subcommands = {ServerCommand.class, WorkerCommand.class, SubmitCommand.class, SignalCommand.class, ListCommand.class, StatusCommand.class,
      HistoryCommand.class, LogsCommand.class, CancelCommand.class, WakeCommand.class, ImagesCommand.class,
      RunCommand.class, ResumeCommand.class, DoctorCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success (for run/resume: the workflow exited 0)",
      "N:run/resume: the workflow's own exit code N",
      "2:bad usage or bad input (also a request the server refused as bad: HTTP 400, 413, 415)",
      "3:no such workflow (the server answered 404)",
      "4:conflict with the workflow's state or an earlier submit (HTTP 409)",
      "5:no Torpor server at --server (start one with `torpor server`)",
      "6:the server wants a (different) bearer token: --token or TORPOR_TOKEN (HTTP 401)",
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
    return commandLine(System.getenv("TORPOR_CONFIG"));
  }

  /**
   * The command line, with option defaults from the properties file {@code configFile} (keys are
   * long option names without dashes) when it is not null.
   *
   * @throws IllegalArgumentException if {@code configFile} names no readable file
   */
  static CommandLine commandLine(String configFile) {
    CommandLine cl = new CommandLine(new TorporCommand());
    if (configFile != null && !configFile.isBlank()) {
      java.io.File f = new java.io.File(configFile);
      if (!f.isFile() || !f.canRead()) {
        throw new IllegalArgumentException("TORPOR_CONFIG names " + configFile + ", which is not a readable file");
      }
      cl.setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(f));
    }
    cl.setExpandAtFiles(false); // @file means a payload file (torpor signal ID NAME @file), not picocli arguments
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
