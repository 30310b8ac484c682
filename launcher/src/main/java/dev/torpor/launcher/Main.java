package dev.torpor.launcher;

import dev.torpor.launcher.cli.TorporCommand;
import dev.torpor.scheduler.CrashPoint;
import picocli.CommandLine;

/** The {@code torpor} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // Quartz and HikariCP log through slf4j-simple: warnings and errors only, unless asked.
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
    CommandLine cl;
    try {
      CrashPoint.checkEnvironment(); // a test-only switch: a typo in it fails here, not at the point
      cl = TorporCommand.commandLine();
    } catch (IllegalArgumentException e) {
      System.err.println("torpor: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(cl.execute(args));
  }
}
