package dev.torpor.launcher.it.workflows;

/** Runs (prints a tick every 100 ms) until it is killed. */
public final class Busy {
  private Busy() {}

  public static void main(String[] args) throws InterruptedException {
    for (long i = 0; ; i++) {
      System.out.println("tick " + i);
      Thread.sleep(100);
    }
  }
}
