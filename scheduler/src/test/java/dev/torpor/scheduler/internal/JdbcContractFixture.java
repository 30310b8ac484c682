package dev.torpor.scheduler.internal;

import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.ControlPlaneContract;
import dev.torpor.scheduler.WorkerGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;

/** The contract's view of {@link JdbcControlPlane}: a single server (not clustered) on one database. */
final class JdbcContractFixture implements ControlPlaneContract.Fixture<JdbcControlPlane> {
  private final ControlPlaneConfig config;
  private final boolean discardInBackground;

  /**
   * {@code config}'s database must be empty at the first {@link #open}; {@code
   * discardInBackground} when the database lives apart from the test's directory (PostgreSQL),
   * so that the test need not wait the half second Quartz's thread pool takes to stop.
   */
  JdbcContractFixture(ControlPlaneConfig config, boolean discardInBackground) {
    this.config = config;
    this.discardInBackground = discardInBackground;
  }

  /** {@code config} with the contract's retry delay. */
  static ControlPlaneConfig withContractRetry(ControlPlaneConfig c) {
    return new ControlPlaneConfig(c.jdbcUrl(), c.user(), c.password(), c.dataDir(), c.logsDir(), c.quartzThreads(),
        ControlPlaneContract.RETRY_DELAY);
  }

  @Override
  public JdbcControlPlane open(WorkerGateway gateway) throws IOException {
    Files.createDirectories(config.logsDir());
    // A new node name at every open, as the server takes one per process.
    JdbcControlPlane plane = new JdbcControlPlane(config, "test-" + System.nanoTime(), false);
    plane.start(gateway);
    return plane;
  }

  @Override
  public void fireWake(JdbcControlPlane plane, String workflowId, long seq, String reason) {
    plane.fireWake(workflowId, seq, reason);
  }

  @Override
  public void printed(JdbcControlPlane plane, String workflowId, byte[] bytes) throws IOException {
    // A single server's worker writes the log file the plane serves.
    Files.write(config.logsDir().resolve(workflowId + ".log"), bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  @Override
  public void close(JdbcControlPlane plane) {
    plane.close();
  }

  @Override
  public void discard(JdbcControlPlane plane) {
    if (!discardInBackground) {
      plane.close();
      return;
    }
    Thread t = new Thread(plane::close, "discard-plane");
    t.setDaemon(true);
    t.start();
  }
}
