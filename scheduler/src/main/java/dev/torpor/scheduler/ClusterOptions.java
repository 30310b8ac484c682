package dev.torpor.scheduler;

import java.time.Duration;

/**
 * How the nodes of a cluster keep track of each other.
 *
 * @param leaseInterval how often a worker renews its lease, and every node looks for expired ones
 * @param leaseTtl how long a worker's lease lasts without renewal before the cluster declares it
 *     gone and its workflows resume elsewhere; a worker that could not renew for half of it kills
 *     its own workflow JVMs first. At least twice the interval.
 */
public record ClusterOptions(Duration leaseInterval, Duration leaseTtl) {
  /** Renew every second; a lease lasts 10 seconds. */
  public static final ClusterOptions DEFAULT = new ClusterOptions(Duration.ofSeconds(1), Duration.ofSeconds(10));

  public ClusterOptions {
    if (leaseInterval.isNegative() || leaseInterval.isZero()) {
      throw new IllegalArgumentException("the lease interval must be positive, got " + leaseInterval);
    }
    if (leaseTtl.compareTo(leaseInterval.multipliedBy(2)) < 0) {
      throw new IllegalArgumentException("the lease TTL (" + leaseTtl + ") must be at least twice the lease interval ("
          + leaseInterval + ")");
    }
  }
}
