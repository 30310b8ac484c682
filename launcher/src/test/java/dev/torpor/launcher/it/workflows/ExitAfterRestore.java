package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;

/** Exits with 3 after a restore. */
public final class ExitAfterRestore {
  private ExitAfterRestore() {}

  public static void main(String[] args) {
    Durable.waitFor(Duration.ofMillis(500));
    System.out.println("restored, exiting with 3");
    System.exit(3);
  }
}
