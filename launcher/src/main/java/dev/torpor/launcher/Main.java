package dev.torpor.launcher;

import dev.torpor.launcher.cli.TorporCommand;
import picocli.CommandLine;

/** The {@code torpor} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(TorporCommand.commandLine().execute(args));
  }
}
