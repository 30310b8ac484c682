package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.time.Duration;
import org.crac.Context;
import org.crac.Resource;

/** Three resources around a checkpoint() and a wait; each hook prints its name. */
public final class Resources {
  private Resources() {}

  public static void main(String[] args) {
    for (String name : new String[] {"A", "B", "C"}) {
      Durable.register(new Resource() {
        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) {
          System.out.println("before " + name);
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) {
          System.out.println("after " + name);
        }
      });
    }
    System.out.println("checkpoint pid=" + ProcessHandle.current().pid());
    Durable.checkpoint();
    System.out.println("wait");
    Durable.waitFor(Duration.ofMillis(500));
    System.out.println("done");
  }
}
