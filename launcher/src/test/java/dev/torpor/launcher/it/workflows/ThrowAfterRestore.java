package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;

/** Throws out of main after a restore. */
public final class ThrowAfterRestore {
  private ThrowAfterRestore() {}

  public static void main(String[] args) {
    Durable.waitFor(Duration.ofMillis(500));
    System.out.println("restored, throwing");
    throw new IllegalStateException("boom after restore");
  }
}
