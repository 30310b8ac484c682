package dev.torpor.scheduler.internal;

import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.ControlPlaneContract;
import java.nio.file.Path;

/** The control plane contract on an embedded H2 file database, as a single server runs it. */
class JdbcControlPlaneOnH2Test extends ControlPlaneContract<JdbcControlPlane> {
  @Override
  protected Fixture<JdbcControlPlane> fixture(Path dir) {
    return new JdbcContractFixture(JdbcContractFixture.withContractRetry(ControlPlaneConfig.embedded(dir, dir.resolve("logs"))), false);
  }
}
