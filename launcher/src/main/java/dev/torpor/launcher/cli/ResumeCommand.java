package dev.torpor.launcher.cli;

import dev.torpor.WorkflowId;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.WaitKind;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.storage.ImageStore;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Restores a frozen workflow from the store on this worker and runs it to its end. */
@Command(
    name = "resume",
    mixinStandardHelpOptions = true,
    description = {
      "Restores a workflow frozen in the image store (by `torpor run --until-suspended` or another worker)",
      "when its wait is over, and runs it to its end. Exits with the workflow's exit code."
    })
public final class ResumeCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkerOptions worker;

  @Option(names = "--id", required = true, description = "The workflow to resume.")
  String id;

  @Option(names = "--signal", description = "Deliver a signal NAME=PAYLOAD (or NAME=@file). Repeatable.")
  List<String> signals = new ArrayList<>();

  @Option(names = "--now", description = "Wake a timer wait now instead of when it falls due.")
  boolean now;

  @Option(names = "--quiet", description = "Do not copy the workflow's output to stdout, nor print events to stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    WorkflowId workflow = WorkflowId.of(id);
    List<SignalOption> parsed = signals.stream().map(SignalOption::parse).toList();
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true);
    try (ImageStore store = worker.openStore(spec.commandLine().getErr());
        InMemorySupervisor supervisor = new InMemorySupervisor();
        Worker w = worker.worker(store, supervisor, quiet ? null : out, WorkerOptions.printer(spec.commandLine().getErr(), quiet),
            spec.commandLine().getErr())) {
      long seq = w.adopt(id);
      Suspend wait = w.waitOf(id).orElseThrow();
      if (wait.kind() == WaitKind.SIGNAL && wait.wakeAt().isEmpty()
          && parsed.stream().noneMatch(s -> s.name().value().equals(wait.signal().orElseThrow()))) {
        throw new IllegalArgumentException("workflow " + id + " waits for signal '" + wait.signal().orElseThrow()
            + "' with no deadline: pass --signal " + wait.signal().orElseThrow() + "=PAYLOAD");
      }
      for (SignalOption s : parsed) {
        supervisor.signal(workflow, s.name(), s.payload());
      }
      spec.commandLine().getErr().println("torpor: resuming " + id + " from seq " + seq + "; log: " + w.logFile(id));
      supervisor.waiting(id, seq, wait.waits(), false, java.util.Map.of());
      if (now) {
        supervisor.wakeNow(workflow);
      }
      return w.awaitExit(id, Duration.ofDays(365 * 100));
    }
  }
}
