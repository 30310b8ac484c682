package dev.torpor.launcher.cli;

/** The exit codes of {@code torpor}, besides a workflow's own. */
public final class ExitCodes {
  /** Bad usage or bad input: nothing was changed. */
  public static final int USAGE = 2;

  /** Torpor itself failed (CRIU missing or too old, store unreadable...). */
  public static final int FAILURE = 125;

  private ExitCodes() {}
}
