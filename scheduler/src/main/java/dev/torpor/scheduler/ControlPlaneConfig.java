package dev.torpor.scheduler;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a control plane is set up.
 *
 * @param jdbcUrl the registry and Quartz job store: {@code jdbc:h2:retry:...} (embedded; {@code jdbc:h2:file:...} works too) or
 *     {@code jdbc:postgresql://...}
 * @param user database user (null for none)
 * @param password database password (null for none)
 * @param dataDir where application jars ({@code apps/}) live
 * @param logsDir where the worker writes workflow logs ({@code <id>.log})
 * @param quartzThreads how many Quartz threads fire timers and dispatches
 * @param retryDelay how long after a failed wake it is tried again
 */
public record ControlPlaneConfig(
    String jdbcUrl, String user, String password, Path dataDir, Path logsDir, int quartzThreads, Duration retryDelay) {
  public ControlPlaneConfig {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(logsDir, "logsDir");
    if (!jdbcUrl.startsWith("jdbc:h2:") && !jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "unsupported database URL '" + jdbcUrl + "': use jdbc:h2:file:PATH or jdbc:postgresql://HOST/DB");
    }
    if (quartzThreads < 1) {
      throw new IllegalArgumentException("quartzThreads must be >= 1, got " + quartzThreads);
    }
  }

  /** The embedded default: an H2 file database under {@code dataDir/db}. */
  public static ControlPlaneConfig embedded(Path dataDir, Path logsDir) {
    // retry: reopens the database's file when a thread was interrupted in its I/O, which plain H2
    // answers by closing the whole database (Quartz interrupts its own thread at shutdown, and a
    // scheduler thread stuck retrying against a closed database never lets the shutdown end).
    String url = "jdbc:h2:retry:" + dataDir.toAbsolutePath().resolve("db").resolve("torpor")
        + ";WRITE_DELAY=0;LOCK_TIMEOUT=10000";
    return new ControlPlaneConfig(url, "sa", "", dataDir, logsDir, 4, Duration.ofSeconds(5));
  }
}
