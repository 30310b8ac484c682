package dev.torpor.launcher.it.workflows;

import dev.torpor.CheckpointException;
import dev.torpor.Durable;

/** Takes one savepoint and says whether it was taken. */
public final class Savepoint {
  private Savepoint() {}

  public static void main(String[] args) {
    System.out.println("before");
    try {
      Durable.checkpoint();
      System.out.println("saved");
    } catch (CheckpointException e) {
      System.out.println("refused: " + e.getMessage());
    }
  }
}
