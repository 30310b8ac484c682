package dev.torpor.launcher.it;

import static org.awaitility.Awaitility.await;

import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.internal.WorkflowSpec;
import dev.torpor.storage.LocalDirectoryImageStore;
import dev.torpor.launcher.internal.WorkflowUser;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.LinkOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real worker for tests: CRIU, a local image store and in-memory timers in a fresh data
 * directory under /tmp (run directories need short paths for their unix sockets). Workflow
 * JVMs run the test workflows from this module's test classes.
 */
final class WorkerHarness implements AutoCloseable {
  private static final AtomicInteger IDS = new AtomicInteger();

  /** Holds the data directory and the run base. */
  final Path base;
  final Path data;
  final Path storeRoot;
  final LocalDirectoryImageStore store;
  final InMemorySupervisor supervisor = new InMemorySupervisor();
  final Worker worker;
  final List<WorkflowEvent> events = new CopyOnWriteArrayList<>();

  WorkerHarness() throws IOException {
    this(Worker.Config.DEFAULT_IMAGE_CACHE_BYTES);
  }

  /** A worker with a hot image cache of {@code imageCacheBytes} (0: every wake fetches from the store). */
  WorkerHarness(long imageCacheBytes) throws IOException {
    base = TestDirs.traversable("torpor-it-");
    data = base.resolve("data");
    storeRoot = data.resolve("store");
    store = new LocalDirectoryImageStore(storeRoot);
    worker = new Worker(new Worker.Config(data, base.resolve("run")).withImageCache(imageCacheBytes), store,
        CriuEngine.locate(), supervisor, events::add);
    supervisor.attach(worker);
  }

  /** The class path of the test workflows. */
  static Path workflowClasses() {
    try {
      return Path.of(WorkerHarness.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static String newId(Class<?> main) {
    return "it-" + main.getSimpleName() + "-" + ProcessHandle.current().pid() + "-" + IDS.incrementAndGet();
  }

  String launch(Class<?> main, String... args) throws IOException {
    return launch(newId(main), main, args);
  }

  String launch(String id, Class<?> main, String... args) throws IOException {
    worker.start(new WorkflowSpec(id, List.of(workflowClasses()), main.getName(), List.of(args), List.of(),
        WorkflowSpec.currentJavaHome()));
    return id;
  }

  /**
   * A unix socket the workflow {@code id} (not started yet) can reach: in its run directory, owned
   * by the workflow user (the only place of the host a workflow sees that the test can write).
   */
  ServerSocketChannel peerSocketFor(String id, String name) throws IOException {
    Path runDir = Files.createDirectories(worker.runDir(id));
    Path socket = runDir.resolve(name);
    ServerSocketChannel peer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    peer.bind(UnixDomainSocketAddress.of(socket));
    Files.setAttribute(socket, "unix:uid", WorkflowUser.DEFAULT.uid(), LinkOption.NOFOLLOW_LINKS);
    return peer;
  }

  List<WorkflowEvent> events(String id, WorkflowEvent.Type type) {
    return events.stream().filter(e -> e.workflowId().equals(id) && e.type() == type).toList();
  }

  /** Waits for the n-th (from 1) event of a type and returns it. */
  WorkflowEvent awaitEvent(String id, WorkflowEvent.Type type, int n) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10))
        .until(() -> events(id, type).size() >= n || events(id, WorkflowEvent.Type.EXITED).size() > 0 && type != WorkflowEvent.Type.EXITED);
    List<WorkflowEvent> found = events(id, type);
    if (found.size() < n) {
      throw new AssertionError("workflow " + id + " exited before its " + type + " #" + n + "; events: " + eventsOf(id)
          + "; log: " + logText(id));
    }
    return found.get(n - 1);
  }

  int awaitExit(String id) throws Exception {
    return worker.awaitExit(id, Duration.ofSeconds(90));
  }

  List<WorkflowEvent> eventsOf(String id) {
    return events.stream().filter(e -> e.workflowId().equals(id)).toList();
  }

  List<String> log(String id) throws IOException {
    return Files.readAllLines(worker.logFile(id), StandardCharsets.UTF_8);
  }

  String logText(String id) {
    try {
      return Files.readString(worker.logFile(id), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Whether any process on this machine runs in the workflow's run directory. */
  boolean anyProcessIn(String id) throws IOException {
    return !dev.torpor.launcher.internal.ProcessScan.withCwd(worker.runDir(id)).isEmpty();
  }

  Path imageData(String id, long seq) {
    return storeRoot.resolve(new dev.torpor.storage.ImageKey(id, seq).dataKey());
  }

  @Override
  public void close() throws IOException {
    worker.close();
    supervisor.close();
    try (Stream<Path> walk = Files.walk(base)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
