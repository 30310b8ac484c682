package dev.torpor.launcher.cli;

import dev.torpor.WorkflowId;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.storage.ImageStore;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Runs one workflow on an embedded worker, through every checkpoint, to its end. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a workflow on an embedded worker until it exits: every Durable wait checkpoints the JVM with CRIU,",
      "stores the image, and restores it when the wait is over. Timers and signals live in this process.",
      "Exits with the workflow's exit code."
    })
public final class RunCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkerOptions worker;

  @Option(names = "--jar", description = "The application jar.")
  Path jar;

  @Option(names = "--cp", split = ":", description = "Class path entries (colon-separated), instead of or besides --jar.")
  List<Path> classPath = new ArrayList<>();

  @Option(names = "--main", required = true, description = "The workflow's main class.")
  String mainClass;

  @Option(names = "--id", description = "Workflow id (letters, digits, . _ -; up to 128). Default: a new one.")
  String id;

  @Option(names = "--java-opts", split = " ", description = "Extra JVM options, space-separated.")
  List<String> javaOptions = new ArrayList<>();

  @Option(names = "--java-home", defaultValue = "${sys:java.home}", description = "The JDK to run the workflow on (default: this one).")
  Path javaHome;

  @Option(names = "--env", paramLabel = "NAME=VALUE",
      description = "An environment variable for the workflow JVM (repeatable); it gets no other variable of this process"
          + " but PATH, LANG and TZ.")
  java.util.Map<String, String> env = new java.util.LinkedHashMap<>();

  @Option(names = "--signal", description = "Send a signal NAME=PAYLOAD (or NAME=@file) at start; kept until the workflow waits for it. Repeatable.")
  List<String> signals = new ArrayList<>();

  @Option(names = "--until-suspended", description = "Return after the first suspension, leaving the workflow frozen in the store for `torpor resume`.")
  boolean untilSuspended;

  @Option(names = "--quiet", description = "Do not copy the workflow's output to stdout, nor print events to stderr.")
  boolean quiet;

  @Option(names = "--test-control", hidden = true,
      description = "For torpor-testing's real-checkpoint mode: the test decides every wake, over sockets in this directory.")
  Path testControl;

  @Parameters(description = "Arguments for the workflow's main method (after --).")
  List<String> args = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    List<Path> cp = new ArrayList<>();
    if (jar != null) {
      cp.add(jar);
    }
    cp.addAll(classPath);
    WorkflowId workflowId = WorkflowId.of(id != null ? id : "wf-" + Long.toString(System.currentTimeMillis(), 36)
        + "-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36));
    WorkflowSpec workflow = new WorkflowSpec(workflowId.value(), cp, mainClass, args, javaOptions, javaHome, env);
    List<SignalOption> parsed = signals.stream().map(SignalOption::parse).toList();
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true);
    CompletableFuture<WorkflowEvent> suspended = new CompletableFuture<>();
    var print = WorkerOptions.printer(spec.commandLine().getErr(), quiet);
    java.util.function.Consumer<WorkflowEvent> events = e -> {
      print.accept(e);
      if (e.type() == WorkflowEvent.Type.SUSPENDED) {
        suspended.complete(e);
      }
    };
    if (testControl != null) {
      if (!parsed.isEmpty() || untilSuspended) {
        throw new IllegalArgumentException("--test-control is torpor-testing's: the test sends the signals and decides"
            + " every wake; drop --signal and --until-suspended");
      }
      try (ImageStore store = worker.openStore(spec.commandLine().getErr());
          dev.torpor.launcher.internal.TestClockSupervisor supervisor =
              new dev.torpor.launcher.internal.TestClockSupervisor(testControl, out);
          Worker w = worker.worker(store, supervisor, supervisor::attach, quiet ? null : out, events,
              spec.commandLine().getErr())) {
        w.start(workflow);
        return w.awaitExit(workflowId.value(), Duration.ofDays(365 * 100));
      }
    }
    try (ImageStore store = worker.openStore(spec.commandLine().getErr());
        InMemorySupervisor supervisor = new InMemorySupervisor();
        Worker w = worker.worker(store, supervisor, quiet ? null : out, events, spec.commandLine().getErr())) {
      for (SignalOption s : parsed) {
        supervisor.signal(workflowId, s.name(), s.payload());
      }
      w.start(workflow);
      spec.commandLine().getErr().println("torpor: workflow " + workflowId + " log: " + w.logFile(workflowId.value()));
      if (untilSuspended) {
        CompletableFuture<Object> first = CompletableFuture.anyOf(suspended, w.exitFuture(workflowId.value()));
        Object r = first.get(365, TimeUnit.DAYS);
        if (r instanceof WorkflowEvent e) {
          spec.commandLine().getOut().println(workflowId + " " + e.seq());
          return 0;
        }
        return (Integer) r;
      }
      return w.awaitExit(workflowId.value(), Duration.ofDays(365 * 100));
    }
  }
}
