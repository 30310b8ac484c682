package dev.torpor.launcher.cli;

import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** Where an embedded worker keeps its data, shared by the commands that run one. */
public final class WorkerOptions {
  @Option(
      names = "--data",
      defaultValue = "${TORPOR_DATA:-${sys:user.home}/.torpor}",
      description = "Data directory: logs, scratch space, and the image store unless --store is given"
          + " (env TORPOR_DATA; default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(
      names = "--store",
      defaultValue = "${TORPOR_STORE}",
      description = "Directory of the local image store (env TORPOR_STORE; default: <data>/store).")
  Path store;

  @Option(
      names = "--run-dir",
      defaultValue = "${TORPOR_RUN_BASE:-/tmp/torpor-run}",
      description = "Base of workflow run directories (sockets, working directory). Keep it short and the same"
          + " on every worker that may restore the same images (env TORPOR_RUN_BASE; default: ${DEFAULT-VALUE}).")
  Path runBase;

  @Option(
      names = "--store-retry",
      defaultValue = "${TORPOR_STORE_RETRY:-60s}",
      converter = DurationConverter.class,
      description = "How long to keep retrying an image commit the store refuses before the workflow is restored"
          + " from its local dump and waits in memory, not durable until its next wait (env TORPOR_STORE_RETRY;"
          + " default: ${DEFAULT-VALUE}).")
  java.time.Duration storeRetry;

  /** The worker configuration these options describe. */
  Worker.Config workerConfig(OutputStream tee) {
    return new Worker.Config(data, runBase, tee, java.time.Duration.ofSeconds(5)).withCommitRetry(storeRetry);
  }

  ImageStore openStore() throws IOException {
    return new LocalDirectoryImageStore(store != null ? store : data.resolve("store"));
  }

  /** A worker with CRIU, the local store and an in-memory supervisor. */
  Worker worker(ImageStore imageStore, InMemorySupervisor supervisor, OutputStream tee, Consumer<WorkflowEvent> events)
      throws IOException {
    CriuEngine criu = CriuEngine.locate();
    Worker w = new Worker(workerConfig(tee), imageStore, criu, supervisor, events);
    supervisor.attach(w);
    return w;
  }

  static Consumer<WorkflowEvent> printer(PrintWriter err, boolean quiet) {
    return e -> {
      if (!quiet) {
        err.println("torpor: " + EventText.describe(e));
        err.flush();
      }
    };
  }
}
