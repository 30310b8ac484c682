package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;

/** Waits twice for a signal of the same name and prints each payload. */
public final class TwoSameSignals {
  private TwoSameSignals() {}

  public static void main(String[] args) {
    System.out.println("first: " + Durable.awaitSignal("step").text());
    System.out.println("second: " + Durable.awaitSignal("step").text());
  }
}
