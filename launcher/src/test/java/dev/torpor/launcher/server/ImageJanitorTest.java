package dev.torpor.launcher.server;

import dev.torpor.WaitKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.torpor.WorkflowId;
import dev.torpor.launcher.http.Images;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.ImageLedger.ImagesKept;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.internal.JdbcControlPlane;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageUpload;
import dev.torpor.storage.LocalDirectoryImageStore;
import dev.torpor.storage.TestManifests;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image retention on a real registry (H2) and a real local store; the clock is moved by hand. */
class ImageJanitorTest {
  @TempDir Path dir;
  private JdbcControlPlane plane;
  private LocalDirectoryImageStore store;
  private final Set<String> started = ConcurrentHashMap.newKeySet();
  private String app;

  /** Records starts; nothing runs (the real worker is exercised by the server ITs). */
  private final WorkerGateway gateway = new WorkerGateway() {
    @Override
    public boolean tryReserve() {
      return true;
    }

    @Override
    public void release() {}

    @Override
    public void start(String id, String sha, Path jar, String main, List<String> args, List<String> opts,
        Map<String, String> env) {
      started.add(id);
    }

    @Override
    public void wake(String id, long seq, String sha, Path jar, Wakeup w) {}

    @Override
    public void kill(String id) {}
  };

  @BeforeEach
  void open() throws IOException {
    plane = new JdbcControlPlane(ControlPlaneConfig.embedded(dir.resolve("data"), dir.resolve("logs")), "t-" + System.nanoTime(), false);
    plane.start(gateway);
    store = new LocalDirectoryImageStore(dir.resolve("store"));
    ByteArrayOutputStream jar = new ByteArrayOutputStream();
    try (JarOutputStream out = new JarOutputStream(jar)) {
      out.putNextEntry(new ZipEntry("com/acme/Main.class"));
      out.write(new byte[] {1});
    }
    app = plane.storeApp(new ByteArrayInputStream(jar.toByteArray()));
  }

  @AfterEach
  void close() {
    plane.close();
  }

  private ImageJanitor janitor(Duration retention, Instant now) {
    return new ImageJanitor(store, plane, retention, Clock.fixed(now, ZoneOffset.UTC),
        new PrintWriter(OutputStream.nullOutputStream(), true));
  }

  private void running(String id) {
    plane.submit(new SubmitRequest(WorkflowId.of(id), app, "com.acme.Main", List.of(), List.of()));
    await().atMost(Duration.ofSeconds(10)).until(() -> started.contains(id));
  }

  private void commit(String id, long seq, int size) throws IOException {
    byte[] data = TestManifests.bytes(seq, size);
    ImageKey key = new ImageKey(id, seq);
    try (ImageUpload up = store.begin(key)) {
      up.data().write(data);
      up.commit(TestManifests.aManifest(key, data));
    }
  }

  @Test
  void aLiveWorkflowKeepsOnlyItsNewestImage() throws IOException {
    running("live");
    try (ImageJanitor j = janitor(Duration.ofDays(1), Instant.now())) {
      for (long seq = 1; seq <= 3; seq++) { // each commit, then the registry records it
        commit("live", seq, 100);
        j.superseded("live", seq);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> store.seqs("live").equals(List.of(3L)));
      assertThat(j.summary("live")).isEqualTo(new Images.Summary(1, 100, 3));
      assertThat(j.collect(false).imagesDeleted()).as("a live workflow is not collected").isZero();
      assertThat(store.seqs("live")).containsExactly(3L);
    }
  }

  @Test
  void aFinishedWorkflowKeepsItsLastImageForTheRetentionThenNothing() throws IOException {
    running("done");
    commit("done", 1, 100);
    commit("done", 2, 250);
    plane.waiting("done", 2, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), false, Map.of());
    plane.cancel(WorkflowId.of("done"));
    Instant finished = plane.status(WorkflowId.of("done")).updatedAt();

    try (ImageJanitor j = janitor(Duration.ofDays(1), finished.plus(Duration.ofHours(1)))) {
      Images.Report dry = j.collect(true);
      assertThat(dry.imagesDeleted()).isEqualTo(1);
      assertThat(store.seqs("done")).as("a dry run deletes nothing").containsExactly(1L, 2L);

      Images.Report first = j.collect(false);
      assertThat(first).isEqualTo(new Images.Report(false, 1, 1, 100, 1, 250, List.of()));
      assertThat(store.seqs("done")).containsExactly(2L);
      assertThat(plane.finishedHoldingImages(10).get(0).kept()).isEqualTo(ImagesKept.LAST);
      assertThat(j.collect(false).imagesDeleted()).as("nothing more until the retention ends").isZero();
    }
    try (ImageJanitor j = janitor(Duration.ofDays(1), finished.plus(Duration.ofDays(1)))) {
      assertThat(j.collect(false).imagesDeleted()).isEqualTo(1);
      assertThat(store.seqs("done")).isEmpty();
      assertThat(plane.finishedHoldingImages(10)).isEmpty();
      assertThat(j.summary("done")).isEqualTo(new Images.Summary(0, 0, 0));
    }
  }

  @Test
  void aRetentionOfZeroDeletesEveryImageOfAFinishedWorkflowAtOnce() throws IOException {
    running("quick");
    commit("quick", 1, 10);
    plane.exited("quick", 0, "");
    try (ImageJanitor j = janitor(Duration.ZERO, Instant.now())) {
      assertThat(j.collect(false).imagesDeleted()).isEqualTo(1);
      assertThat(store.seqs("quick")).isEmpty();
    }
  }

  /**
   * Issue #12, defect 3: a commit the registry refuses (here: from a worker that does not run the
   * workflow, which is frozen on image 1) retires no image: image 1 is the one to restore.
   */
  @Test
  void aCommitTheRegistryRefusedRetiresNoImage() throws IOException {
    running("kept");
    commit("kept", 1, 100);
    plane.waiting("kept", 1, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(3600)), Optional.empty(), false, Map.of());
    commit("kept", 2, 100); // a stale worker's image 2
    try (ImageJanitor j = janitor(Duration.ofDays(1), Instant.now())) {
      ServerWorker stale = new ServerWorker(1, plane, j);
      assertThat(stale.waiting("kept", 2, WaitKind.TIMER, Optional.of(Instant.now().plusSeconds(60)), Optional.empty(),
          false, Map.of())).as("the registry refused the stale worker's wait").isFalse();
    } // closing the janitor waits for its deletions
    assertThat(store.seqs("kept")).as("image 1, which the registry names, is still there").contains(1L);
    assertThat(plane.status(WorkflowId.of("kept")).seq()).isEqualTo(1);
  }
}
