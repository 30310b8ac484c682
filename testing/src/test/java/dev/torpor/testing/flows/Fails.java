package dev.torpor.testing.flows;

/** Throws from main. */
public final class Fails {
  private Fails() {}

  public static void main(String[] args) {
    throw new IllegalStateException("no such order: " + (args.length > 0 ? args[0] : "?"));
  }
}
