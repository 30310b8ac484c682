package dev.torpor.bench;

import dev.torpor.examples.Cycles;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a checkpoint starts to pay off: the {@link Cycles} workflow waits D ms in a loop, once with
 * every wait checkpointed ({@code --min-checkpoint-wait 0}) and once with every wait held in memory
 * (a minimum above D), for D from 100 ms to 5 s. For each it reports how late the waits returned
 * (the time the wait took beyond D, median), the CPU time per wait (this JVM and every process it
 * started and reaped: CRIU, the workflow JVMs), and the resident memory a held wait keeps (the
 * workflow JVM's largest RSS). A checkpoint pays off once the wait is long enough that its cost,
 * a few hundred ms of CPU and latency, buys back the memory and slot for most of the wait.
 *
 * <p>Usage: {@code java -cp torpor-bench.jar dev.torpor.bench.ShortWaitBenchmark [cycles (default
 * 10)] [markdown-out]}. Needs root and CRIU.
 */
public final class ShortWaitBenchmark {
  private static final long[] WAITS_MS = {100, 250, 500, 1000, 2000, 5000};
  private static final int WARM_UP = 2;
  private static final Pattern CYCLE =
      Pattern.compile("cycle \\d+/\\d+: waitCalledAtMicros=(\\d+) resumedAtMicros=(\\d+)");
  private static final long CLOCK_TICKS = 100; // USER_HZ on Linux

  private record Result(double lateMillisP50, double cpuMillisPerWait, double rssMb, int dumped) {}

  private ShortWaitBenchmark() {}

  public static void main(String[] args) throws Exception {
    int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Path out = args.length > 1 ? Path.of(args[1]) : null;
    if (cycles <= WARM_UP) {
      throw new IllegalArgumentException("cycles must exceed the " + WARM_UP + " warm-up cycles");
    }
    CriuEngine criu = CriuEngine.locate();
    Path data = Files.createTempDirectory(Path.of("/tmp"), "torpor-shortwait-");
    Path runBase = Files.createTempDirectory(Path.of("/tmp"), "tsw");
    Path workflowJar = SnapshotBenchmark.workflowClassPath(data);
    StringBuilder md = new StringBuilder();
    md.append("\n## Short waits: where a checkpoint pays off, ").append(java.time.LocalDate.now()).append("\n\n");
    md.append("Machine:\n\n");
    SnapshotBenchmark.machine(criu, data).forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
    md.append("\nCommand: `java -cp bench/target/torpor-bench.jar dev.torpor.bench.ShortWaitBenchmark ")
        .append(String.join(" ", args)).append("`\n\n");
    md.append(String.format(Locale.ROOT, "`Cycles` waits D in a loop, %d waits per run, the first %d left out."
        + " *Late*: median time a wait took beyond D. *CPU*: CPU time per wait of the worker and every process it"
        + " started (CRIU, the workflow JVM). *RSS*: the workflow JVM's resident memory, which a wait held in memory"
        + " keeps for all of D.%n%n", cycles, WARM_UP));
    md.append("| wait D, ms | checkpointed: late, ms | checkpointed: CPU per wait, ms | held in memory: late, ms |"
        + " held: CPU per wait, ms | held: workflow RSS, MB |\n");
    md.append("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (long d : WAITS_MS) {
      Result checkpointed = run(criu, data.resolve("c" + d), runBase, workflowJar, cycles, d, Duration.ZERO);
      Result held = run(criu, data.resolve("h" + d), runBase, workflowJar, cycles, d, Duration.ofHours(1));
      String row = String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", d,
          checkpointed.lateMillisP50(), checkpointed.cpuMillisPerWait(), held.lateMillisP50(), held.cpuMillisPerWait(),
          held.rssMb());
      System.err.print("torpor-shortwait: " + row);
      if (checkpointed.dumped() < cycles - 1 || held.dumped() != 0) {
        System.err.println("torpor-shortwait: D = " + d + " ms: " + checkpointed.dumped() + " of " + cycles
            + " waits dumped when checkpointed, " + held.dumped() + " when held");
      }
      md.append(row);
    }
    System.out.print(md);
    if (out != null) {
      Files.writeString(out, md.toString(), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }
  }

  private static Result run(CriuEngine criu, Path data, Path runBase, Path workflowJar, int cycles, long waitMillis,
      Duration minCheckpointWait) throws IOException, InterruptedException, java.util.concurrent.TimeoutException {
    List<WorkflowEvent> events = new ArrayList<>();
    ConcurrentHashMap<String, Long> pids = new ConcurrentHashMap<>();
    AtomicLong maxRssKb = new AtomicLong();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    long cpu0 = cpuTicks();
    String id = "shortwait-" + waitMillis + "-" + (minCheckpointWait.isZero() ? "c" : "h");
    try (LocalDirectoryImageStore store = new LocalDirectoryImageStore(data.resolve("store"));
        InMemorySupervisor supervisor = new InMemorySupervisor();
        Worker worker = new Worker(new Worker.Config(data, runBase, null, Duration.ofSeconds(5))
            .withMinCheckpointWait(minCheckpointWait), store, criu, supervisor, e -> {
              synchronized (events) {
                events.add(e);
              }
              if (e.type() == WorkflowEvent.Type.STARTED && e.details().get("pid") instanceof Number n) {
                pids.put(e.workflowId(), n.longValue());
              }
            })) {
      supervisor.attach(worker);
      sampler.scheduleAtFixedRate(() -> pids.values().forEach(pid -> maxRssKb.accumulateAndGet(rssKb(pid), Math::max)),
          50, 50, TimeUnit.MILLISECONDS);
      worker.start(new WorkflowSpec(id, List.of(workflowJar), Cycles.class.getName(),
          List.of(Integer.toString(cycles), "0", Long.toString(waitMillis)), List.of(), WorkflowSpec.currentJavaHome()));
      int code = worker.awaitExit(id, Duration.ofSeconds(60 + cycles * (waitMillis / 1000 + 5)));
      if (code != 0) {
        throw new IllegalStateException(id + " exited with " + code + "; log: " + worker.logFile(id));
      }
      List<Double> late = new ArrayList<>();
      Matcher m = CYCLE.matcher(Files.readString(worker.logFile(id)));
      int i = 0;
      while (m.find()) {
        if (i++ >= WARM_UP) {
          late.add((Long.parseLong(m.group(2)) - Long.parseLong(m.group(1))) / 1000.0 - waitMillis);
        }
      }
      long dumped;
      synchronized (events) {
        dumped = events.stream().filter(e -> e.type() == WorkflowEvent.Type.SUSPENDED).count();
      }
      double cpuMs = (cpuTicks() - cpu0) * 1000.0 / CLOCK_TICKS / cycles;
      return new Result(median(late), cpuMs, maxRssKb.get() / 1024.0, (int) dumped);
    } finally {
      sampler.shutdownNow();
    }
  }

  /** utime + stime of this JVM and of its reaped children, in clock ticks (/proc/self/stat fields 14 to 17). */
  private static long cpuTicks() throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // f[0] is field 3 (state): utime is field 14, so f[11]; stime f[12]; cutime f[13]; cstime f[14].
    return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
  }

  private static long rssKb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return 0;
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    return s.isEmpty() ? Double.NaN : s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
  }
}
