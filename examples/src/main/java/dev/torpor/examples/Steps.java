package dev.torpor.examples;

import dev.torpor.Durable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The history benchmark's workflow (issue #6), the same as its Temporal counterpart: {@code
 * steps} calls to a trivial method, keeping each small result, then {@code waits} times a
 * durable wait of 50 ms followed by one more call. With {@code heapMiB} above 0 it also holds
 * that many MiB of pseudo-random bytes (incompressible, as live data often is) through every
 * wait, for the benchmark of resume latency against heap size.
 *
 * <p>Usage: {@code Steps steps waits [heapMiB]}. Prints, per wait, the same line as {@link
 * Cycles} (the wall-clock instants in epoch microseconds of the wait call and of the first
 * statement after it), and at the end {@code state intact after ...} if every result and every
 * byte of the held heap is as it was, exiting 0; otherwise 1.
 */
public final class Steps {
  private Steps() {}

  public static void main(String[] args) {
    if (args.length < 2) {
      throw new IllegalArgumentException("usage: Steps steps waits [heapMiB]");
    }
    int steps = Integer.parseInt(args[0]);
    int waits = Integer.parseInt(args[1]);
    int heapMiB = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    if (steps < 0 || waits < 1 || heapMiB < 0) {
      throw new IllegalArgumentException("steps and heapMiB must be at least 0, waits at least 1: "
          + String.join(" ", args));
    }
    byte[][] heap = new byte[heapMiB][];
    SplittableRandom random = new SplittableRandom(42);
    for (int i = 0; i < heapMiB; i++) {
      heap[i] = new byte[1 << 20];
      fill(heap[i], random);
    }
    long heapSum = checksum(heap);
    List<String> results = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      results.add(step(i));
    }
    for (int k = 0; k < waits; k++) {
      long calledAt = micros(Instant.now());
      Durable.waitFor(Duration.ofMillis(50));
      long resumedAt = micros(Instant.now()); // the first statement after the wait
      results.add(step(steps + k));
      System.out.println("cycle " + (k + 1) + "/" + waits + ": waitCalledAtMicros=" + calledAt
          + " resumedAtMicros=" + resumedAt + " results=" + results.size() + " heapMiB=" + heapMiB);
    }
    boolean intact = results.size() == steps + waits && checksum(heap) == heapSum;
    for (int i = 0; intact && i < results.size(); i++) {
      intact = results.get(i).equals(step(i));
    }
    System.out.println(intact
        ? "state intact after " + waits + " waits, " + results.size() + " results, " + heapMiB + " MiB held"
        : "STATE CORRUPTED after " + waits + " waits");
    System.exit(intact ? 0 : 1);
  }

  /** The trivial step: a small result, as the Temporal activity returns. */
  static String step(int i) {
    return "r" + i;
  }

  private static void fill(byte[] b, SplittableRandom random) {
    for (int i = 0; i < b.length; i += 8) {
      long v = random.nextLong();
      for (int j = 0; j < 8; j++) {
        b[i + j] = (byte) (v >>> (8 * j));
      }
    }
  }

  private static long checksum(byte[][] heap) {
    long sum = 0;
    for (byte[] b : heap) {
      for (byte x : b) {
        sum = sum * 31 + x;
      }
    }
    return sum;
  }

  private static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }
}
