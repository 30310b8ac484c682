package dev.torpor.testing.flows;

/** Never waits and never ends: prints once, then computes. */
public final class Spin {
  private Spin() {}

  public static void main(String[] args) {
    System.out.println("spinning");
    long x = 0;
    while (true) {
      x += System.nanoTime() % 7;
      if (x == Long.MIN_VALUE) {
        System.out.println(x);
      }
    }
  }
}
