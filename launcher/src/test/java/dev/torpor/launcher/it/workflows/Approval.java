package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import dev.torpor.Signal;
import java.time.Duration;
import java.util.Optional;

/** Waits for signal "approve" with no deadline, then for "x" for one second. */
public final class Approval {
  private Approval() {}

  public static void main(String[] args) {
    System.out.println("waiting for approve");
    Signal s = Durable.awaitSignal("approve");
    System.out.println("approved: " + s.text() + " name=" + s.name());
    long t0 = System.currentTimeMillis();
    Optional<Signal> x = Durable.awaitSignal("x", Duration.ofSeconds(1));
    System.out.println("x: " + x.map(Signal::text).orElse("timeout") + " wallMillis=" + (System.currentTimeMillis() - t0));
  }
}
