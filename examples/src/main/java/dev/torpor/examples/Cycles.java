package dev.torpor.examples;

import dev.torpor.Durable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's workflow: waits {@code N} times (default 25) for 50 ms, so that each wait is
 * a full suspend and resume, while it keeps a little state (the list of finished iterations and
 * a map of a few thousand entries) so that the heap is not empty. Prints one line per
 * iteration with the wall-clock instants, in epoch microseconds, of the wait call and of the
 * first statement after it (CLOCK_REALTIME is not namespaced, so the worker can compare them
 * with its own events). Exits 0 if the state is intact at the end, 1 if not.
 *
 * <p>With a second argument {@code P}, P more threads wait on signals that never come while the
 * loop runs, so that every checkpoint holds P + 1 waits (the benchmark's {@code --pending-waits}).
 * A third argument sets the wait in milliseconds (default 50). A fourth, {@code G}, makes each
 * iteration build G MiB of arrays and drop them before its wait, as a workflow that parsed or
 * built something large and kept only a result would: garbage at the checkpoint.
 */
public final class Cycles {
  /** Entries in the map: enough for a non-trivial heap, few enough to build in milliseconds. */
  public static final int MAP_ENTRIES = 5_000;

  private Cycles() {}

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 25;
    if (n < 1) {
      throw new IllegalArgumentException("the number of cycles must be at least 1: " + n);
    }
    int pending = args.length > 1 ? Integer.parseInt(args[1]) : 0;
    Duration wait = Duration.ofMillis(args.length > 2 ? Long.parseLong(args[2]) : 50);
    int churnMiB = args.length > 3 ? Integer.parseInt(args[3]) : 0;
    for (int i = 0; i < pending; i++) {
      int k = i;
      Thread t = new Thread(() -> Durable.awaitSignal("never-" + k), "pending-" + i);
      t.setDaemon(true);
      t.start();
    }
    List<Integer> done = new ArrayList<>();
    Map<String, Long> table = new HashMap<>();
    for (int i = 0; i < MAP_ENTRIES; i++) {
      table.put("key-" + i, value(i));
    }
    long checksum = checksum(table);
    for (int i = 0; i < n; i++) {
      churn(churnMiB);
      long calledAt = micros(Instant.now());
      Durable.waitFor(wait);
      long resumedAt = micros(Instant.now()); // the first statement after the wait
      done.add(i);
      System.out.println("cycle " + (i + 1) + "/" + n + ": waitCalledAtMicros=" + calledAt
          + " resumedAtMicros=" + resumedAt + " done=" + done.size() + " entries=" + table.size());
    }
    boolean intact = done.size() == n && table.size() == MAP_ENTRIES && checksum(table) == checksum;
    for (int i = 0; intact && i < n; i++) {
      intact = done.get(i) == i;
    }
    for (int i = 0; intact && i < MAP_ENTRIES; i++) {
      intact = Long.valueOf(value(i)).equals(table.get("key-" + i));
    }
    System.out.println(intact ? "state intact after " + n + " cycles" : "STATE CORRUPTED after " + n + " cycles");
    System.exit(intact ? 0 : 1);
  }

  /** Allocates {@code mib} MiB in 64 KiB arrays, all reachable until it returns. */
  private static void churn(int mib) {
    byte[][] all = new byte[mib * 16][];
    long sum = 0;
    for (int i = 0; i < all.length; i++) {
      all[i] = new byte[64 << 10];
      all[i][i % all[i].length] = (byte) i;
      sum += all[(i * 31) % (i + 1)][i % 7];
    }
    if (sum == Long.MIN_VALUE) {
      System.out.println(sum); // never: keeps the arrays from being optimised away
    }
  }

  private static long value(int i) {
    return (long) i * i + 0x9E3779B97F4A7C15L;
  }

  private static long checksum(Map<String, Long> table) {
    long sum = 0;
    for (Map.Entry<String, Long> e : table.entrySet()) {
      sum += e.getKey().hashCode() * 31L ^ e.getValue();
    }
    return sum;
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }
}
