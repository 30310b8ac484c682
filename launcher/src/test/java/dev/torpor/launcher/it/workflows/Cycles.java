package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.util.ArrayList;
import java.util.List;

/**
 * Cycles through {@code args[0]} waits on signal "next", holding {@code args[1]} KiB of
 * pseudo-random heap state made from the seed {@code args[2]}. Before each wait it changes one
 * page of the state in eight (so its next image shares most of its chunks with the one before);
 * after each it prints the signal's text and a checksum of the whole state, so a restore that
 * brought back a wrong or stale chunk prints a wrong line. {@link #expected} is what it must print.
 */
public final class Cycles {
  private static final int LONGS_PER_PAGE = 4096 / Long.BYTES;

  private Cycles() {}

  public static void main(String[] args) {
    int waits = Integer.parseInt(args[0]);
    long[] state = init(Integer.parseInt(args[1]), Long.parseLong(args[2]));
    List<String> texts = new ArrayList<>();
    System.out.println("start checksum=" + checksum(state));
    for (int i = 1; i <= waits; i++) {
      step(state, i);
      texts.add(Durable.awaitSignal("next").text());
      System.out.println(line(i, texts, state));
    }
    System.out.println("done");
  }

  /** The log of a run with these arguments that got the signals {@code texts}, in order. */
  public static String expected(int waits, int kib, long seed, List<String> texts) {
    long[] state = init(kib, seed);
    StringBuilder out = new StringBuilder("start checksum=" + checksum(state) + "\n");
    for (int i = 1; i <= waits; i++) {
      step(state, i);
      out.append(line(i, texts.subList(0, i), state)).append('\n');
    }
    return out.append("done\n").toString();
  }

  private static String line(int i, List<String> texts, long[] state) {
    return "cycle " + i + " got " + texts.get(i - 1) + " checksum=" + checksum(state) + " texts=" + String.join(",", texts);
  }

  private static long[] init(int kib, long seed) {
    long[] state = new long[kib * 1024 / Long.BYTES];
    long x = seed;
    for (int i = 0; i < state.length; i++) {
      x += 0x9E3779B97F4A7C15L;
      state[i] = mix(x);
    }
    return state;
  }

  private static void step(long[] state, int cycle) {
    for (int page = cycle % 8; page * LONGS_PER_PAGE < state.length; page += 8) {
      int from = page * LONGS_PER_PAGE;
      for (int j = from; j < Math.min(state.length, from + LONGS_PER_PAGE); j++) {
        state[j] = mix(state[j] + cycle);
      }
    }
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static String checksum(long[] state) {
    long h = 17;
    for (long v : state) {
      h = h * 31 + v;
    }
    return Long.toHexString(h);
  }
}
