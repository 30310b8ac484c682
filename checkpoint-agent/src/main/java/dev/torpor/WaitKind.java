package dev.torpor;

/** What a suspended workflow waits for. */
public enum WaitKind {
  /** A wall-clock instant ({@code Durable.waitFor}, {@code sleepUntil}). */
  TIMER,
  /** A named signal, optionally with a deadline ({@code Durable.awaitSignal}). */
  SIGNAL,
  /** Nothing: persist and carry on at once ({@code Durable.checkpoint}). */
  CHECKPOINT
}
