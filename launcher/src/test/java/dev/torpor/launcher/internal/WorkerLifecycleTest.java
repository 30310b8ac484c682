package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.launcher.internal.WorkflowEvent.Type;
import dev.torpor.launcher.it.workflows.Approval;
import dev.torpor.launcher.it.workflows.Savepoint;
import dev.torpor.launcher.it.workflows.Sleeper;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.ImageUpload;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The worker's life of a workflow (launch, suspend, commit, wait, restore, wake, exit) driven
 * with a fake checkpoint engine and a store that can refuse commits, so that each path of its
 * state machine is taken on purpose: a dump that fails, a store that is down, a restore that
 * fails, a kill of a restored tree. The workflow JVM is real (the agent asks to suspend); the
 * fake dump records where it ran and kills it, and the fake restore starts a {@link
 * StandInRestore} that takes the WAKE as a restored JVM would. Needs root (the sandbox), not CRIU.
 */
class WorkerLifecycleTest {
  private static final AtomicInteger IDS = new AtomicInteger();

  private Path base;
  private FakeEngine engine;
  private RefusingStore store;
  private InMemorySupervisor supervisor;
  private Worker worker;
  private final List<WorkflowEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws IOException {
    base = Files.createTempDirectory(Path.of("/tmp"), "torpor-lifecycle-");
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
    engine = new FakeEngine();
    store = new RefusingStore(new LocalDirectoryImageStore(base.resolve("data/store")));
    startWorker(Duration.ZERO);
  }

  private void startWorker(Duration minCheckpointWait) throws IOException {
    supervisor = new InMemorySupervisor();
    worker = new Worker(new Worker.Config(base.resolve("data"), base.resolve("run")).withCommitRetry(Duration.ofSeconds(1))
        .withMinCheckpointWait(minCheckpointWait), store, engine, supervisor, events::add);
    supervisor.attach(worker);
  }

  @AfterEach
  void stop() throws IOException {
    worker.close();
    supervisor.close();
    try (Stream<Path> walk = Files.walk(base)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Test
  void aTimerWaitIsDumpedCommittedRestoredAndWoken() throws Exception {
    String id = launch(Sleeper.class, "1");
    assertThat(awaitExit(id)).isZero();
    assertThat(types(id)).containsExactly(Type.STARTED, Type.SUSPENDED, Type.WAKING, Type.RESUMED,
        Type.EXITED);
    assertThat(engine.calls).containsExactly("dump kill", "restore from the store");
    assertThat(store.seqs(id)).containsExactly(1L);
    assertThat(log(id)).isEqualTo("sleeping 1 s\nstand-in woke: TIMER restored\n");
  }

  @Test
  void aSignalReachesTheRestoredTreeWithItsPayload() throws Exception {
    String id = launch(Approval.class);
    awaitEvent(id, Type.SUSPENDED);
    supervisor.signal(WorkflowId.of(id), SignalName.of("approve"), "yes".getBytes(StandardCharsets.UTF_8));
    assertThat(awaitExit(id)).isZero();
    assertThat(log(id)).endsWith("stand-in woke: SIGNAL restored approve=yes\n");
  }

  @Test
  void aFailedDumpLeavesTheJvmRunningAndItsWaitInMemory() throws Exception {
    engine.dumpFailures.add("the fake engine refuses this dump");
    String id = launch(Sleeper.class, "2");
    WorkflowEvent failed = awaitEvent(id, Type.CHECKPOINT_FAILED);
    assertThat(failed.details()).containsEntry("error", "the fake engine refuses this dump");
    assertThat(worker.waitsInMemory(id)).isTrue();
    assertThat(awaitExit(id)).isZero();
    assertThat(log(id)).as("the JVM itself woke: nothing was restored").endsWith("woke\n");
    assertThat(engine.calls).containsExactly("dump kill");
    assertThat(store.seqs(id)).isEmpty();
  }

  @Test
  void aSavepointIsDumpedLeftRunningAndCommitted() throws Exception {
    String id = launch(Savepoint.class);
    assertThat(awaitExit(id)).isZero();
    assertThat(types(id)).containsExactly(Type.STARTED, Type.CHECKPOINTED, Type.RESUMED, Type.EXITED);
    assertThat(engine.calls).containsExactly("dump leave-running");
    assertThat(store.seqs(id)).containsExactly(1L);
    assertThat(log(id)).isEqualTo("before\nsaved\n");
  }

  @Test
  void aSavepointWhoseDumpFailsIsRefusedToTheWorkflow() throws Exception {
    engine.dumpFailures.add("the fake engine refuses this dump");
    String id = launch(Savepoint.class);
    assertThat(awaitExit(id)).isZero();
    assertThat(log(id)).startsWith("before\nrefused: ").contains("the fake engine refuses this dump");
    assertThat(store.seqs(id)).isEmpty();
  }

  @Test
  void aStoreThatRefusesCommitsGetsTheWorkflowRestoredFromItsLocalDump() throws Exception {
    store.refuse.set(true);
    String id = launch(Sleeper.class, "3");
    WorkflowEvent failed = awaitEvent(id, Type.CHECKPOINT_FAILED);
    assertThat(failed.details().get("error").toString()).contains("the test's store refuses commits");
    assertThat(engine.calls).containsExactly("dump kill", "restore from a local dump");
    assertThat(awaitExit(id)).isZero();
    assertThat(log(id)).isEqualTo("sleeping 3 s\nstand-in woke: TIMER in memory\n");
    assertThat(store.seqs(id)).isEmpty();
  }

  @Test
  void aWaitDueWithinTheMinimumIsHeldInMemoryWithoutACheckpointAndALongerOneIsCheckpointed() throws Exception {
    worker.close();
    supervisor.close();
    startWorker(Duration.ofSeconds(2));
    String quick = launch(Sleeper.class, "1");
    assertThat(awaitExit(quick)).isZero();
    assertThat(types(quick)).containsExactly(Type.STARTED, Type.WAITING_IN_MEMORY, Type.WAKING, Type.RESUMED,
        Type.EXITED);
    assertThat(awaitEvent(quick, Type.WAITING_IN_MEMORY).details().get("heldInMemory").toString())
        .contains("--min-checkpoint-wait");
    assertThat(log(quick)).as("no warning of a failed checkpoint: none failed").isEqualTo("sleeping 1 s\nwoke\n");
    assertThat(engine.calls).as("nothing dumped").isEmpty();
    assertThat(store.seqs(quick)).isEmpty();

    String slow = launch(Sleeper.class, "3");
    assertThat(awaitExit(slow)).isZero();
    assertThat(engine.calls).containsExactly("dump kill", "restore from the store");
    assertThat(store.seqs(slow)).containsExactly(1L);
  }

  @Test
  void aRestoreThatFailsLeavesTheWorkflowSuspendedAndTheNextWakeRestoresIt() throws Exception {
    engine.restoreFailures.add("once");
    String id = launch(Sleeper.class, "1");
    WorkflowEvent failed = awaitEvent(id, Type.RESTORE_FAILED);
    assertThat(failed.details().get("error").toString()).contains("cannot deliver the wake");
    assertThat(failed.seq()).isEqualTo(1);
    assertThat(worker.waitsInMemory(id)).isFalse();
    assertThat(anyProcessIn(id)).as("nothing of the failed restore is left").isFalse();
    assertThat(supervisor.retry(id)).as("the timer is past due: the wake is tried again").isTrue();
    assertThat(awaitExit(id)).isZero();
    assertThat(engine.calls).containsExactly("dump kill", "restore from the store", "restore from the store");
    assertThat(log(id)).isEqualTo("sleeping 1 s\nstand-in woke: TIMER restored\n");
  }

  @Test
  void aKillTakesARestoredTreeThatWaitsInMemory() throws Exception {
    store.refuse.set(true);
    String id = launch(Sleeper.class, "3600");
    awaitEvent(id, Type.CHECKPOINT_FAILED);
    await().atMost(Duration.ofSeconds(30)).until(() -> anyProcessIn(id));
    worker.kill(id);
    assertThat(awaitExit(id)).isNotZero();
    await().atMost(Duration.ofSeconds(10)).until(() -> !anyProcessIn(id));
    assertThat(engine.calls).containsExactly("dump kill", "restore from a local dump");
  }

  // ----- the harness -----

  private String launch(Class<?> main, String... args) throws IOException {
    String id = "life-" + main.getSimpleName() + "-" + IDS.incrementAndGet();
    worker.start(new WorkflowSpec(id, List.of(testClasses()), main.getName(), List.of(args), List.of(),
        WorkflowSpec.currentJavaHome()));
    return id;
  }

  private static Path testClasses() {
    try {
      return Path.of(WorkerLifecycleTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private int awaitExit(String id) throws Exception {
    try {
      return worker.awaitExit(id, Duration.ofSeconds(60));
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("workflow " + id + " did not exit; events: " + eventsOf(id) + "; log: " + log(id), e);
    }
  }

  private WorkflowEvent awaitEvent(String id, Type type) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10))
        .until(() -> types(id).contains(type) || types(id).contains(Type.EXITED));
    return eventsOf(id).stream().filter(e -> e.type() == type).findFirst()
        .orElseThrow(() -> new AssertionError("no " + type + " for " + id + ": " + eventsOf(id) + "; log: " + log(id)));
  }

  private List<WorkflowEvent> eventsOf(String id) {
    return events.stream().filter(e -> e.workflowId().equals(id)).toList();
  }

  private List<Type> types(String id) {
    return eventsOf(id).stream().map(WorkflowEvent::type).toList();
  }

  private String log(String id) {
    try {
      return Files.readString(worker.logFile(id), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private boolean anyProcessIn(String id) throws IOException {
    return !ProcessScan.withCwd(worker.runDir(id)).isEmpty();
  }

  /**
   * A checkpoint engine without CRIU. A dump writes down the JVM's java, class path, run
   * directory and workflow id, and kills the tree (unless told to leave it running, or to fail);
   * a restore starts a {@link StandInRestore} from those, as the workflow user (or, told to fail,
   * a process that exits 1 at once, as a failed {@code criu restore} does).
   */
  private final class FakeEngine implements CheckpointEngine {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final Queue<String> dumpFailures = new ConcurrentLinkedQueue<>();
    final Queue<String> restoreFailures = new ConcurrentLinkedQueue<>();
    private volatile Path lastErrors;

    @Override
    public Map<String, String> describe() {
      return Map.of("name", "fake", "version", "1");
    }

    @Override
    public void dump(long pid, Path dir, boolean leaveRunning, List<String> options)
        throws IOException, DumpFailedException {
      calls.add("dump " + (leaveRunning ? "leave-running" : "kill"));
      String failure = dumpFailures.poll();
      if (failure != null) {
        throw new DumpFailedException(failure);
      }
      List<String> cmd = Arrays.asList(Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"))
          .split("\0"));
      Map<String, String> env = Arrays.stream(Files.readString(Path.of("/proc", Long.toString(pid), "environ"))
          .split("\0")).filter(kv -> kv.contains("=")).collect(Collectors.toMap(kv -> kv.substring(0, kv.indexOf('=')),
              kv -> kv.substring(kv.indexOf('=') + 1), (a, b) -> b));
      Files.createDirectories(dir);
      Files.write(dir.resolve("fake-image.txt"), List.of(cmd.get(0), cmd.get(cmd.indexOf("-cp") + 1),
          env.get("TORPOR_RUN_DIR"), env.get("TORPOR_WORKFLOW_ID")));
      if (!leaveRunning) {
        ProcessHandle tree = ProcessHandle.of(pid).orElseThrow(() -> new IOException("no process " + pid));
        tree.destroyForcibly();
        tree.onExit().completeOnTimeout(tree, 10, TimeUnit.SECONDS).join();
      }
    }

    @Override
    public Process restore(Path dir, String outputPipe, Path errorFile, List<String> options,
        boolean addrNoRandomize) throws IOException {
      calls.add("restore from " + (dir.startsWith(worker.scratchDir().resolve("dumps")) ? "a local dump" : "the store"));
      List<String> image = Files.readAllLines(dir.resolve("fake-image.txt"));
      lastErrors = errorFile;
      ProcessBuilder pb = restoreFailures.poll() != null
          ? new ProcessBuilder("sh", "-c", "echo 'fake restore failed' >&2; exit 1")
          : new ProcessBuilder("setpriv", "--reuid=" + WorkflowUser.DEFAULT.uid(), "--regid=" + WorkflowUser.DEFAULT.gid(),
              // the workflow user, with the group that may cross the run base to the class path
              "--groups=" + WorkflowUser.DEFAULT.namespaceRootGid(), image.get(0), "-cp", image.get(1), StandInRestore.class.getName(), image.get(2),
              image.get(3), "0");
      pb.environment().clear();
      return pb.directory(new File(image.get(2)))
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectError(ProcessBuilder.Redirect.appendTo(errorFile.toFile()))
          .start();
    }

    /** The stand-in is the restored root itself, restored as soon as it runs. */
    @Override
    public long restoredRoot(Process restore, Duration timeout) throws IOException {
      if (!restore.isAlive()) {
        throw new IOException("the fake restore exited with " + restore.exitValue());
      }
      return restore.pid();
    }

    @Override
    public String restoreLogTail(Path dir) {
      try {
        return lastErrors == null ? "(nothing restored)" : Files.readString(lastErrors).strip();
      } catch (IOException e) {
        return "(no errors: " + e + ")";
      }
    }
  }

  /**
   * A local store that refuses every commit, and every write of a shared object, while {@link
   * #refuse} is set, as a store that is down does.
   */
  private static final class RefusingStore implements ImageStore {
    final AtomicBoolean refuse = new AtomicBoolean();
    private final ImageStore store;

    RefusingStore(ImageStore store) {
      this.store = store;
    }

    @Override
    public ImageUpload begin(ImageKey key) throws IOException {
      if (refuse.get()) {
        throw new IOException("the test's store refuses commits");
      }
      return store.begin(key);
    }

    @Override
    public Optional<ImageManifest> manifest(ImageKey key) throws IOException {
      return store.manifest(key);
    }

    @Override
    public InputStream openData(ImageKey key) throws IOException {
      return store.openData(key);
    }

    @Override
    public List<Long> seqs(String workflowId) throws IOException {
      return new ArrayList<>(store.seqs(workflowId));
    }

    @Override
    public List<String> workflowIds() throws IOException {
      return store.workflowIds();
    }

    @Override
    public InputStream openRange(ImageKey key, long offset, long length) throws IOException {
      return store.openRange(key, offset, length);
    }

    @Override
    public List<Long> dataSeqs(String workflowId) throws IOException {
      return store.dataSeqs(workflowId);
    }

    @Override
    public void deleteManifest(ImageKey key) throws IOException {
      store.deleteManifest(key);
    }

    @Override
    public void deleteData(ImageKey key) throws IOException {
      store.deleteData(key);
    }

    @Override
    public void putShared(String name, byte[] bytes) throws IOException {
      if (refuse.get()) {
        throw new IOException("the test's store refuses writes");
      }
      store.putShared(name, bytes);
    }

    @Override
    public boolean sharedExists(String name) throws IOException {
      return store.sharedExists(name);
    }

    @Override
    public InputStream openSharedRange(String name, long offset, long length) throws IOException {
      return store.openSharedRange(name, offset, length);
    }

    @Override
    public SortedMap<String, Instant> listShared(String prefix) throws IOException {
      return store.listShared(prefix);
    }

    @Override
    public void deleteShared(String name) throws IOException {
      store.deleteShared(name);
    }

    @Override
    public void putApp(String sha256, Path jar) throws IOException {
      store.putApp(sha256, jar);
    }

    @Override
    public void fetchApp(String sha256, Path target) throws IOException {
      store.fetchApp(sha256, target);
    }

    @Override
    public String describe() {
      return "refusing(" + store.describe() + ")";
    }
  }
}
