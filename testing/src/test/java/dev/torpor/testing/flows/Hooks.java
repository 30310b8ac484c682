package dev.torpor.testing.flows;

import dev.torpor.Durable;
import java.time.Duration;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

/** Registers an org.crac resource and waits once: its hooks print around the wait. */
public final class Hooks {
  private Hooks() {}

  public static void main(String[] args) {
    Resource r = new Resource() {
      @Override
      public void beforeCheckpoint(Context<? extends Resource> context) {
        System.out.println("before checkpoint");
      }

      @Override
      public void afterRestore(Context<? extends Resource> context) {
        System.out.println("after restore");
      }
    };
    Core.getGlobalContext().register(r);
    Durable.waitFor(Duration.ofMinutes(5));
    System.out.println("done " + r.hashCode());
  }
}
