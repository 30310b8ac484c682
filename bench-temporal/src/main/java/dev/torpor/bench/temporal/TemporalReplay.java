package dev.torpor.bench.temporal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;
import io.temporal.activity.ActivityOptions;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.TestEnvironmentOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerFactoryOptions;
import io.temporal.workflow.Workflow;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The replay engine of the history benchmark (issue #6): the {@link Steps} workflow on Temporal's
 * Java SDK and its in-process test server ({@code io.temporal:temporal-testing}), in a JVM of its
 * own, started by {@link HistoryBenchmark} with the flags Torpor gives a workflow JVM.
 *
 * <p>For each N, the workflow runs N trivial activities on a worker with its cache on (as a
 * Temporal worker normally runs), keeping each small result. It then sleeps on a durable timer;
 * while it sleeps, that worker is shut down and a worker with its workflow cache disabled
 * ({@code setWorkflowCacheSize(0)}, which also turns sticky execution off) takes over, so every
 * later workflow task replays the whole history: this is what a resume costs a replay engine when
 * the workflow is not in a worker's cache (after a deploy, a crash, a cache eviction, or on
 * another worker). After each timer the workflow runs one more activity and sleeps again, {@code
 * waits} times.
 *
 * <p>Two measures per N:
 *
 * <ul>
 *   <li><b>resume</b>: from the server's TimerFired event (its event time, the server's wall
 *       clock) to the first statement after {@code Workflow.sleep} as it runs for real ({@code
 *       !Workflow.isReplaying()}, wall clock): the workflow task dispatched, the history fetched
 *       from the server, the whole history replayed, the timer's outcome applied. The same span as
 *       Torpor's "wake sent to first statement after the wait".
 *   <li><b>replay</b>: {@link Worker#replayWorkflowExecution} over the finished workflow's history
 *       in memory, timed repeatedly: the replay alone, with no server and no fetch.
 * </ul>
 *
 * <p>Usage: {@code TemporalReplay OUT.json waits replays N...}. Writes the samples as JSON
 * ({@link Report}).
 */
public final class TemporalReplay {
  static final String TASK_QUEUE_PREFIX = "steps-";
  /** Each sleep: long enough for the evicting workflow to run before the timer fires. */
  static final Duration SLEEP = Duration.ofSeconds(1);

  private TemporalReplay() {}

  /** N trivial activities keeping small results, then {@code waits} × (durable timer, one activity). */
  @WorkflowInterface
  public interface Steps {
    /** Returns a checksum of the results kept, so that the caller can tell they were all kept. */
    @WorkflowMethod
    long run(int steps, int waits);
  }

  /**
   * A workflow that sleeps briefly: run while {@link Steps} sleeps, it takes the worker's one
   * cache slot (a workflow that finished in its first task would not be cached).
   */
  @WorkflowInterface
  public interface Evict {
    /** Sleeps 100 ms, then returns. */
    @WorkflowMethod
    void run();
  }

  /** The evicting workflow's implementation. */
  public static final class EvictImpl implements Evict {
    @Override
    public void run() {
      Workflow.sleep(Duration.ofMillis(100));
    }
  }

  /** The trivial activity. */
  @ActivityInterface
  public interface Step {
    /** A small result for step {@code i}. */
    @ActivityMethod
    String step(int i);
  }

  /** The activity's implementation. */
  public static final class StepImpl implements Step {
    @Override
    public String step(int i) {
      return result(i);
    }
  }

  static String result(int i) {
    return "r" + i;
  }

  static long checksum(List<String> results) {
    long sum = 0;
    for (String r : results) {
      sum = sum * 31 + r.hashCode();
    }
    return sum;
  }

  /** Wall-clock instants of the first statements after each sleep, by workflow id, in order. */
  static final Map<String, BlockingQueue<Long>> RESUMED = new ConcurrentHashMap<>();
  /** The waits the workflow is about to sleep in, for real, by workflow id. */
  static final Map<String, BlockingQueue<Integer>> SLEEPING = new ConcurrentHashMap<>();

  /** The workflow's implementation; the probes run only when not replaying. */
  public static final class StepsImpl implements Steps {
    private final Step step = Workflow.newActivityStub(Step.class,
        ActivityOptions.newBuilder().setStartToCloseTimeout(Duration.ofMinutes(1)).build());

    // isReplaying() is deprecated for workflow logic; here it only keeps the measuring probe from
    // firing during a replay, and changes nothing the workflow records.
    @SuppressWarnings("deprecation")
    @Override
    public long run(int steps, int waits) {
      List<String> results = new ArrayList<>();
      for (int i = 0; i < steps; i++) {
        results.add(step.step(i));
      }
      String id = Workflow.getInfo().getWorkflowId();
      for (int k = 0; k < waits; k++) {
        if (!Workflow.isReplaying()) {
          BlockingQueue<Integer> q = SLEEPING.get(id);
          if (q != null) {
            q.add(k);
          }
        }
        Workflow.sleep(SLEEP);
        if (!Workflow.isReplaying()) {
          long micros = micros(Instant.now()); // the first statement after the sleep, for real
          BlockingQueue<Long> q = RESUMED.get(id);
          if (q != null) {
            q.add(micros);
          }
        }
        results.add(step.step(steps + k));
      }
      return checksum(results);
    }
  }

  /** One N: the samples in ms, and the history's size. */
  record Result(int steps, int waits, List<Double> resumeMillis, List<Double> replayMillis, int historyEvents,
      long historyBytes, boolean resultIntact) {}

  public static void main(String[] args) throws Exception {
    if (args.length < 4) {
      System.err.println("usage: TemporalReplay OUT.json waits replays N...");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    int waits = Integer.parseInt(args[1]);
    int replays = Integer.parseInt(args[2]);
    List<Result> results = new ArrayList<>();
    TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance(
        TestEnvironmentOptions.newBuilder().setUseTimeskipping(false).build());
    try {
      for (int i = 3; i < args.length; i++) {
        results.add(measure(env, Integer.parseInt(args[i]), waits, replays));
      }
    } finally {
      env.close();
    }
    write(out, results);
    System.exit(0);
  }

  /** The samples, with the SDK's version. */
  record Report(String temporalVersion, String javaVersion, List<Result> results) {}

  static void write(Path out, List<Result> results) throws IOException {
    Report r = new Report(io.temporal.serviceclient.Version.LIBRARY_VERSION, System.getProperty("java.version"), results);
    Files.writeString(out, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
  }

  static Result measure(TestWorkflowEnvironment env, int steps, int waits, int replays) throws Exception {
    WorkflowClient client = env.getWorkflowClient();
    String queue = TASK_QUEUE_PREFIX + steps;
    String id = "steps-" + steps + "-" + Long.toString(System.currentTimeMillis(), 36);
    BlockingQueue<Long> resumed = new LinkedBlockingQueue<>();
    RESUMED.put(id, resumed);

    BlockingQueue<Integer> sleeping = new LinkedBlockingQueue<>();
    SLEEPING.put(id, sleeping);
    long t0 = System.nanoTime();
    // One worker with a workflow cache of one: as a Temporal worker runs, sticky and cached, so
    // that the N activities do not replay the history each time; while the workflow sleeps, a
    // trivial workflow takes the cache slot, and the timer's workflow task replays all of it.
    WorkerFactory factory = WorkerFactory.newInstance(client, WorkerFactoryOptions.newBuilder()
        .setWorkflowCacheSize(1).setMaxWorkflowThreadCount(4).build());
    Worker worker = factory.newWorker(queue);
    worker.registerWorkflowImplementationTypes(StepsImpl.class, EvictImpl.class);
    worker.registerActivitiesImplementations(new StepImpl());
    factory.start();
    long result;
    try {
      Steps stub = client.newWorkflowStub(Steps.class,
          WorkflowOptions.newBuilder().setTaskQueue(queue).setWorkflowId(id).build());
      WorkflowClient.start(stub::run, steps, waits);
      for (int k = 0; k < waits; k++) {
        Integer got = sleeping.poll(60 + steps / 20L, TimeUnit.SECONDS);
        if (got == null || got != k) {
          throw new IllegalStateException(id + ": did not reach sleep " + k + " (got " + got + ")");
        }
        if (k == 0) {
          log(String.format("N=%d: %d activities in %.1f s", steps, steps, (System.nanoTime() - t0) / 1e9));
        }
        Evict evict = client.newWorkflowStub(Evict.class,
            WorkflowOptions.newBuilder().setTaskQueue(queue).setWorkflowId(id + "-evict-" + k).build());
        evict.run();
      }
      result = WorkflowStub.fromTyped(stub).getResult(60 + steps / 20L, TimeUnit.SECONDS, Long.class);
    } catch (java.util.concurrent.TimeoutException e) {
      List<HistoryEvent> events = client.fetchHistory(id).getEvents();
      events.subList(Math.max(0, events.size() - 15), events.size())
          .forEach(ev -> log(ev.getEventId() + " " + ev.getEventType() + " " + ev.getEventTime().getSeconds()));
      throw e;
    } finally {
      factory.shutdown();
      factory.awaitTermination(30, TimeUnit.SECONDS);
    }
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < steps + waits; i++) {
      expected.add(result(i));
    }
    boolean intact = result == checksum(expected);

    WorkflowExecutionHistory history = client.fetchHistory(id);
    List<Long> fired = new ArrayList<>();
    for (HistoryEvent e : history.getEvents()) {
      if (e.getEventType() == EventType.EVENT_TYPE_TIMER_FIRED) {
        fired.add(e.getEventTime().getSeconds() * 1_000_000L + e.getEventTime().getNanos() / 1_000);
      }
    }
    List<Long> firstStatements = new ArrayList<>(resumed);
    if (fired.size() != waits || firstStatements.size() != waits) {
      throw new IllegalStateException(id + ": " + fired.size() + " timers fired and " + firstStatements.size()
          + " resumes seen, " + waits + " expected");
    }
    List<Double> resume = new ArrayList<>();
    for (int k = 0; k < waits; k++) {
      resume.add((firstStatements.get(k) - fired.get(k)) / 1e3);
    }

    // The replay alone, on a worker of a factory that is never started.
    WorkerFactory replayer = WorkerFactory.newInstance(client);
    Worker w = replayer.newWorker(queue + "-replay");
    w.registerWorkflowImplementationTypes(StepsImpl.class);
    List<Double> replay = new ArrayList<>();
    for (int r = 0; r < replays; r++) {
      long s = System.nanoTime();
      w.replayWorkflowExecution(history);
      replay.add((System.nanoTime() - s) / 1e6);
    }
    replayer.shutdownNow();
    RESUMED.remove(id);
    SLEEPING.remove(id);
    Result res = new Result(steps, waits, resume, replay, history.getEvents().size(),
        history.getHistory().getSerializedSize(), intact);
    log(String.format("N=%d: %d events, %.2f MB of history; resume %s ms; replay %s ms", steps,
        res.historyEvents(), res.historyBytes() / 1e6, resume, replay));
    return res;
  }

  static long micros(Instant t) {
    return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }

  private static void log(String msg) {
    System.err.println("temporal-replay: " + msg);
  }
}
