package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;

/** Two timer waits and one signal wait; prints a line after each, and its random identity. */
public final class TimersAndSignal {
  private TimersAndSignal() {}

  public static void main(String[] args) {
    long identity = new java.util.Random().nextLong();
    long millis = args.length > 0 ? Long.parseLong(args[0]) : 1000;
    System.out.println("start " + identity);
    Durable.waitFor(Duration.ofMillis(millis));
    System.out.println("timer 1 " + identity);
    Durable.waitFor(Duration.ofMillis(millis));
    System.out.println("timer 2 " + identity);
    System.out.println("signal " + Durable.awaitSignal("go").text() + " " + identity);
  }
}
