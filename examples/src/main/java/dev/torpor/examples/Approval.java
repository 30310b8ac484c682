package dev.torpor.examples;

import dev.torpor.Durable;
import dev.torpor.Signal;
import java.time.Duration;
import java.util.Optional;

/**
 * An approval with two signals: a change waits for a reviewer's "approve" (no deadline), then
 * for a second "deploy" go-ahead within a window; without it, the change is parked.
 *
 * <p>Arguments: {@code CHANGE [DEPLOY_WINDOW_SECONDS]} (default: one hour).
 */
public final class Approval {
  private Approval() {}

  public static void main(String[] args) {
    String change = args.length > 0 ? args[0] : "change-1";
    Duration window = args.length > 1 ? Duration.ofSeconds(Long.parseLong(args[1])) : Duration.ofHours(1);

    System.out.println(change + ": waiting for approval");
    Signal approval = Durable.awaitSignal("approve");
    System.out.println(change + ": approved by " + approval.text());

    Optional<Signal> deploy = Durable.awaitSignal("deploy", window);
    if (deploy.isPresent()) {
      System.out.println(change + ": deployed to " + deploy.get().text());
    } else {
      System.out.println(change + ": no deploy within " + window + "; parked");
    }
  }
}
