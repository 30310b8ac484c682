package dev.torpor;

/** Why a wait returned. */
public enum WakeReason {
  /** The timer fell due. */
  TIMER,
  /** The awaited signal arrived; the wake carries it. */
  SIGNAL,
  /** A signal wait reached its deadline without a signal. */
  TIMEOUT,
  /** A {@code Durable.checkpoint()} was persisted; carry on. */
  CHECKPOINT,
  /** An operator woke the workflow early ({@code torpor wake}). */
  OPERATOR
}
