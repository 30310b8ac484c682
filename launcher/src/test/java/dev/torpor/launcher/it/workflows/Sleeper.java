package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;

/** Waits on a timer of the given number of seconds (default one hour), then prints "woke". */
public final class Sleeper {
  private Sleeper() {}

  public static void main(String[] args) {
    long seconds = args.length > 0 ? Long.parseLong(args[0]) : 3600;
    System.out.println("sleeping " + seconds + " s");
    Durable.waitFor(Duration.ofSeconds(seconds));
    System.out.println("woke");
  }
}
