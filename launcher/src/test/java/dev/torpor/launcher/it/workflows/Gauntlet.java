package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;

/**
 * Passes through every kind of wait once, printing one line after each: a timer, a savepoint,
 * a signal sent before it waits ("early", due on arrival), a signal sent while it is frozen
 * ("go"), and a last timer. The last line repeats both payloads, so the run that completes says
 * which signals it was given.
 */
public final class Gauntlet {
  private Gauntlet() {}

  public static void main(String[] args) {
    long millis = args.length > 0 ? Long.parseLong(args[0]) : 200;
    System.out.println("start");
    Durable.waitFor(Duration.ofMillis(millis));
    System.out.println("timer");
    Durable.checkpoint();
    System.out.println("saved");
    String early = Durable.awaitSignal("early").text();
    System.out.println("early " + early);
    String go = Durable.awaitSignal("go").text();
    System.out.println("go " + go);
    Durable.waitFor(Duration.ofMillis(millis));
    System.out.println("done early=" + early + " go=" + go);
  }
}
