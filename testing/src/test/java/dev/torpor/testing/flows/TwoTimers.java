package dev.torpor.testing.flows;

import dev.torpor.Durable;
import java.time.Duration;

/** Two threads wait at once, one for 2 hours and one for 1 hour, then a savepoint. */
public final class TwoTimers {
  private TwoTimers() {}

  public static void main(String[] args) throws InterruptedException {
    Thread slow = new Thread(() -> {
      Durable.waitFor(Duration.ofHours(2));
      System.out.println("slow done");
    }, "slow");
    slow.start();
    Durable.waitFor(Duration.ofHours(1));
    System.out.println("fast done");
    slow.join();
    Durable.checkpoint();
    System.out.println("saved");
  }
}
