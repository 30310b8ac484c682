package dev.torpor.launcher.cli;

import picocli.CommandLine;

/** Reports the version from the jar's manifest. */
public final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = TorporCommand.class.getPackage().getImplementationVersion();
    return new String[] {"torpor " + (v == null ? "development build" : v)};
  }
}
