package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** A 100,000-entry map and a counting thread across one two-second wait. */
public final class HeapCounter {
  private HeapCounter() {}

  public static void main(String[] args) throws InterruptedException {
    Map<Integer, String> map = new HashMap<>();
    for (int i = 0; i < 100_000; i++) {
      map.put(i, "value-" + i);
    }
    AtomicLong counter = new AtomicLong();
    Thread counting = new Thread(() -> {
      while (true) {
        counter.incrementAndGet();
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "counter");
    counting.setDaemon(true);
    counting.start();
    while (counter.get() < 20) {
      Thread.sleep(5);
    }
    System.out.println("before count=" + counter.get() + " nano=" + System.nanoTime() + " wall="
        + System.currentTimeMillis() + " checksum=" + checksum(map) + " size=" + map.size());
    Durable.waitFor(Duration.ofSeconds(2));
    long after = counter.get();
    System.out.println("after count=" + after + " nano=" + System.nanoTime() + " wall="
        + System.currentTimeMillis() + " checksum=" + checksum(map) + " size=" + map.size());
    while (counter.get() < after + 10) {
      Thread.sleep(5);
    }
    System.out.println("still counting count=" + counter.get());
  }

  private static long checksum(Map<Integer, String> map) {
    long sum = 0;
    for (Map.Entry<Integer, String> e : map.entrySet()) {
      sum = sum * 31 + e.getKey() * 7L + e.getValue().hashCode();
    }
    return sum;
  }
}
