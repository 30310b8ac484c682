package dev.torpor.launcher.server;

import dev.torpor.launcher.internal.ProcessScan;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Workflow JVMs left running by a worker that died (kill -9 does not take its children with
 * it). Their workflows resume from their last image elsewhere, so the old copies must go
 * first: one live copy at a time. A workflow JVM is recognised by its working directory,
 * which is its run directory under the run base.
 */
final class Orphans {
  private Orphans() {}

  /** Kills every process whose working directory is under {@code runBase}; returns their pids. */
  static List<Long> killUnder(Path runBase) throws IOException {
    return ProcessScan.killUnder(runBase);
  }
}
