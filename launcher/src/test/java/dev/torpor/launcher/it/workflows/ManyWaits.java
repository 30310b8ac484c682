package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import dev.torpor.Signal;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts N threads (args[0]), thread i awaiting signal {@code sig-i}; each prints what it got and
 * how long after the worker accepted the signal it ran (the wake-to-statement latency). The main
 * thread joins them all.
 */
public final class ManyWaits {
  private ManyWaits() {}

  public static void main(String[] args) throws InterruptedException {
    int n = Integer.parseInt(args[0]);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = i;
      Thread t = new Thread(() -> {
        Signal s = Durable.awaitSignal("sig-" + k);
        long latency = System.currentTimeMillis() - s.receivedAt().toEpochMilli();
        System.out.println("thread " + k + " got " + s.text() + " after " + latency + " ms");
      }, "waiter-" + i);
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    System.out.println("all " + n + " done");
  }
}
