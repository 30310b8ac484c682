package dev.torpor.scheduler;

/**
 * What a control plane tells its node's metrics: each history event it committed (after the
 * commit, never for a transaction rolled back), and each lease renewal of its worker. Called on
 * the plane's own threads: implementations return at once and never throw.
 */
public interface PlaneListener {
  /** A history event of {@code type} ({@code SUBMITTED}, {@code STARTED}, {@code COMPLETED}, ...) was committed. */
  void history(String type);

  /** This node's worker renewed its lease ({@code ok}), or tried and failed. */
  default void leaseRenewal(boolean ok) {}
}
