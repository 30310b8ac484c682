package dev.torpor.launcher.server;

import java.io.IOException;
import java.nio.file.Path;

/** Lets tests outside the package clean up workflow JVMs a test left running. */
public final class OrphansForTests {
  private OrphansForTests() {}

  public static void kill(Path runBase) throws IOException {
    Orphans.killUnder(runBase);
  }
}
