package dev.torpor.launcher.it.workflows;

import java.util.ArrayList;
import java.util.List;
import org.crac.CheckpointException;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.crac.RestoreException;

/**
 * Uses nothing but org.crac, as a library would: registers resources A and B with the global
 * context, calls {@code Core.checkpointRestore()}, then makes B refuse and calls it again.
 * Prints each hook and how each call ended.
 */
public final class OrgCracSavepoint {
  private static final List<Resource> HELD = new ArrayList<>(); // org.crac holds resources weakly
  private static volatile boolean refuse;

  private OrgCracSavepoint() {}

  public static void main(String[] args) {
    for (String name : new String[] {"A", "B"}) {
      Resource r = new Resource() {
        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) throws Exception {
          System.out.println("before " + name);
          if (refuse && name.equals("B")) {
            throw new IllegalStateException("B refuses");
          }
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) {
          System.out.println("after " + name);
        }
      };
      HELD.add(r);
      Core.getGlobalContext().register(r);
    }
    savepoint();
    refuse = true;
    savepoint();
  }

  private static void savepoint() {
    try {
      Core.checkpointRestore();
      System.out.println("saved");
    } catch (CheckpointException e) {
      System.out.println("CheckpointException, suppressed: " + e.getSuppressed()[0].getMessage());
    } catch (RestoreException e) {
      System.out.println("RestoreException");
    }
  }
}
