package dev.torpor.launcher.cli;

/** The exit codes of {@code torpor}, besides a workflow's own. */
public final class ExitCodes {
  /** Bad usage or bad input: nothing was changed. */
  public static final int USAGE = 2;

  /** No such workflow (the server answered 404). */
  public static final int NOT_FOUND = 3;

  /** The request contradicts the workflow's state or an earlier submit (the server answered 409). */
  public static final int CONFLICT = 4;

  /** No Torpor server answers at {@code --server}. */
  public static final int UNREACHABLE = 5;

  /** The server wants a (different) bearer token (it answered 401). */
  public static final int UNAUTHORIZED = 6;

  /** Torpor itself failed (CRIU missing or too old, store unreadable...). */
  public static final int FAILURE = 125;

  private ExitCodes() {}
}
