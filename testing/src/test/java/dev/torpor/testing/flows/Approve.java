package dev.torpor.testing.flows;

import dev.torpor.Durable;
import dev.torpor.Signal;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Waits for "approve" (forever), then for "deploy" or "cancel" within a day. */
public final class Approve {
  private Approve() {}

  public static void main(String[] args) {
    Signal a = Durable.awaitSignal("approve");
    System.out.println("approved by " + a.text());
    Optional<Signal> next = Durable.awaitAny(List.of("deploy", "cancel"), Duration.ofDays(1));
    System.out.println(next.map(s -> s.name() + ": " + s.text()).orElse("nothing within a day"));
  }
}
