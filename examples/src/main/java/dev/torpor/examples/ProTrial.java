package dev.torpor.examples;

import dev.torpor.Durable;
import dev.torpor.Signal;
import java.time.Duration;
import java.util.Optional;

/**
 * The pro-trial workflow: grant a trial, mail the user, wait out the trial (frozen: no process
 * runs), then give the user a grace period to upgrade; revoke the plan unless an "upgrade"
 * signal arrives in time.
 *
 * <p>Arguments: {@code USER [TRIAL_SECONDS] [GRACE_SECONDS]} (defaults: 30 days, 3 days).
 */
public final class ProTrial {
  private ProTrial() {}

  public static void main(String[] args) {
    String user = args.length > 0 ? args[0] : "alice";
    Duration trial = args.length > 1 ? Duration.ofSeconds(Long.parseLong(args[1])) : Duration.ofDays(30);
    Duration grace = args.length > 2 ? Duration.ofSeconds(Long.parseLong(args[2])) : Duration.ofDays(3);

    Billing.grant(user, "pro");
    String length = trial.toDays() > 0 ? trial.toDays() + "-day" : trial.toSeconds() + "-second";
    Mail.send(user, "Your " + length + " trial has started");
    Durable.waitFor(trial);

    Mail.send(user, "Your trial is over: upgrade within " + grace + " to keep pro");
    Optional<Signal> upgrade = Durable.awaitSignal("upgrade", grace);
    if (upgrade.isPresent()) {
      System.out.println("upgrade received: " + upgrade.get().text());
      Billing.grant(user, "pro (paid: " + upgrade.get().text() + ")");
    } else {
      Billing.revoke(user, "pro");
    }
    System.out.println("trial of " + user + " done");
  }

  /** Stands in for a billing system: prints what it would do. */
  static final class Billing {
    private Billing() {}

    static void grant(String user, String plan) {
      System.out.println("billing: granted " + plan + " to " + user);
    }

    static void revoke(String user, String plan) {
      System.out.println("billing: revoked " + plan + " from " + user);
    }
  }

  /** Stands in for a mail service: prints what it would send. */
  static final class Mail {
    private Mail() {}

    static void send(String user, String text) {
      System.out.println("mail to " + user + ": " + text);
    }
  }
}
