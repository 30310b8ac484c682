package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;

/**
 * P threads (args[1]) wait on signals that never come while the main thread waits 50 ms N times
 * (args[0]), printing after each: every checkpoint after the first must hold main's next wait as
 * well as the P others, or nothing wakes the image again.
 */
public final class LoopBesidePendingWaits {
  private LoopBesidePendingWaits() {}

  public static void main(String[] args) {
    int n = Integer.parseInt(args[0]);
    int pending = Integer.parseInt(args[1]);
    for (int i = 0; i < pending; i++) {
      int k = i;
      Thread t = new Thread(() -> Durable.awaitSignal("never-" + k), "pending-" + i);
      t.setDaemon(true);
      t.start();
    }
    for (int i = 1; i <= n; i++) {
      Durable.waitFor(Duration.ofMillis(50));
      System.out.println("loop " + i + "/" + n);
    }
  }
}
