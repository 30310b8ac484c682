package dev.torpor.examples;

import dev.torpor.Durable;
import java.time.Duration;
import java.time.LocalTime;

/** The README's example: prints, freezes for a few seconds (no process left), prints again. */
public final class Hello {
  private Hello() {}

  public static void main(String[] args) {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    String greeting = "hello from pid " + ProcessHandle.current().pid() + " at " + LocalTime.now().withNano(0);
    System.out.println(greeting);
    System.out.println("waiting " + seconds + " s: the JVM is checkpointed and gone meanwhile");
    Durable.waitFor(Duration.ofSeconds(seconds));
    System.out.println("back at " + LocalTime.now().withNano(0) + "; still remember: \"" + greeting + "\"");
  }
}
