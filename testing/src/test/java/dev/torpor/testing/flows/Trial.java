package dev.torpor.testing.flows;

import dev.torpor.Durable;
import java.time.Duration;
import java.time.Instant;

/** Waits 30 days, then says how long it waited on the workflow's clock and exits with 3. */
public final class Trial {
  private Trial() {}

  public static void main(String[] args) {
    Instant before = Durable.now();
    System.out.println("trial started by " + Durable.workflowId());
    Durable.waitFor(Duration.ofDays(30));
    System.out.println("trial over after " + Duration.between(before, Durable.now()).toDays() + " days");
    System.exit(3);
  }
}
