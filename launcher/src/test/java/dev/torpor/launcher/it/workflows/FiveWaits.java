package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Five waits in a loop; the state it prints must carry through all of them. */
public final class FiveWaits {
  private FiveWaits() {}

  public static void main(String[] args) {
    long identity = new Random().nextLong();
    List<Integer> seen = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      seen.add(i);
      Durable.waitFor(Duration.ofMillis(300));
      System.out.println("wait " + i + " done identity=" + identity + " seen=" + seen);
    }
  }
}
