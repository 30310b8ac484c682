package dev.torpor.launcher.it;

import static dev.torpor.launcher.internal.WorkflowEvent.Type.CHECKPOINTED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.CHECKPOINT_FAILED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.RESTORE_FAILED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.RESUMED;
import static dev.torpor.launcher.internal.WorkflowEvent.Type.SUSPENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.internal.SupervisedRuntime;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.Suspend;
import dev.torpor.WaitKind;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.launcher.it.workflows.Approval;
import dev.torpor.launcher.it.workflows.Undumpable;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.SharedPacks;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bad images, failed dumps and garbage on the sockets: each a clear error, nothing lost. */
class FaultsIT {
  private WorkerHarness h;

  @BeforeEach
  void startWorker() throws Exception {
    h = new WorkerHarness(0); // the store's copy is what these tests damage: no cached copy to restore instead
  }

  @AfterEach
  void stopWorker() throws Exception {
    h.close();
  }

  @Test
  void flippedByteIsRefusedNamingTheChecksumAndAnIntactCopyStillRestores() throws Exception {
    String id = h.launch(Approval.class);
    h.awaitEvent(id, SUSPENDED, 1);
    // A chunked image's frames: those of its own data object before its index, or, when it has
    // none (an earlier workflow's first image seeded a shared pack it reads), those of the pack.
    ImageManifest m = h.store.manifest(new ImageKey(id, 1)).orElseThrow();
    long framesEnd = m.chunks().indexOffset();
    Path own = h.imageData(id, 1);
    Path data = framesEnd > 0 ? own : own.getParent().getParent().getParent().resolve("shared")
        .resolve(SharedPacks.packName(m.chunks().sharedPacks().get(0)));
    String object = framesEnd > 0 ? "of the data object of image " + id + "#1" : "of shared pack ";
    Path intact = h.data.resolve("intact-copy.tar.zst");
    Files.copy(data, intact);
    byte[] bytes = Files.readAllBytes(data);
    bytes[(int) (framesEnd > 0 ? framesEnd / 2 : bytes.length / 2)] ^= 0x01;
    Files.write(data, bytes);
    h.supervisor.signal(WorkflowId.of(id), SignalName.of("approve"), "after repair".getBytes(StandardCharsets.UTF_8));

    WorkflowEvent refused = h.awaitEvent(id, RESTORE_FAILED, 1);
    // A chunked image: the byte is in one of its frames, refused by the SHA-256 its index holds for it.
    assertThat((String) refused.details().get("error")).contains("image " + id + "#1 is corrupt: frame ")
        .contains(object).contains("pages-").contains("has SHA-256 ")
        .contains("but the index says");
    assertThat(h.anyProcessIn(id)).isFalse();
    assertThat(h.store.seqs(id)).as("the image is kept").containsExactly(1L);

    Files.copy(intact, data, StandardCopyOption.REPLACE_EXISTING);
    assertThat(h.supervisor.retry(id)).as("the signal is still pending").isTrue();

    assertThat(h.awaitExit(id)).isZero();
    assertThat(h.log(id)).contains("approved: after repair name=approve");
  }

  @Test
  void failedDumpKeepsTheJvmRunningAndHonoursTheWaitInMemory() throws Exception {
    String id = WorkerHarness.newId(Undumpable.class);
    try (ServerSocketChannel peer = h.peerSocketFor(id, "peer.sock")) {
      h.launch(id, Undumpable.class, h.worker.runDir(id).resolve("peer.sock").toString());
      try (SocketChannel accepted = peer.accept()) {
        WorkflowEvent failed = h.awaitEvent(id, CHECKPOINT_FAILED, 1);
        assertThat((String) failed.details().get("error")).contains("criu dump");
        assertThat(h.worker.isAlive(id)).as("the JVM keeps running").isTrue();
        assertThat(h.events(id, SUSPENDED)).isEmpty();

        // Garbage on the wake socket of the waiting JVM is refused; the wait goes on.
        Path wake = h.worker.runDir(id).resolve(SupervisedRuntime.WAKE_SOCKET);
        send(wake, "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        send(wake, Arrays.copyOf(validSuspend(id), 7));

        assertThat(h.awaitExit(id)).as(h.logText(id)).isZero();
        assertThat(accepted.isOpen()).isTrue();
      }
      String log = h.logText(id);
      assertThat(log).contains("checkpoint failed, the wait was kept in memory")
          .contains("refused a connection on the wake socket")
          .contains("checkpoint refused: checkpoint failed")
          .contains("checkpoint ok after closing the peer");
      long wall = Long.parseLong(log.replaceAll("(?s).*after wait wallMillis=(\\d+).*", "$1"));
      assertThat(wall).as("the wait was honoured").isGreaterThanOrEqualTo(3000L);
      assertThat(h.events(id, CHECKPOINT_FAILED)).hasSize(2);
      assertThat(h.events(id, CHECKPOINTED)).hasSize(1);
      assertThat(h.events(id, RESUMED)).hasSize(3);
    }
  }

  @Test
  void garbageOnTheControlSocketIsRefusedAndTheWorkflowIsNotHarmed() throws Exception {
    // A live JVM waiting in memory (its dump is refused): its control socket is open meanwhile.
    String id = WorkerHarness.newId(Undumpable.class);
    try (ServerSocketChannel peer = h.peerSocketFor(id, "peer2.sock")) {
      h.launch(id, Undumpable.class, h.worker.runDir(id).resolve("peer2.sock").toString());
      try (SocketChannel accepted = peer.accept()) {
        h.awaitEvent(id, CHECKPOINT_FAILED, 1);
        Path control = h.worker.runDir(id).resolve(SupervisedRuntime.CONTROL_SOCKET);
        byte[] valid = validSuspend(id);
        byte[] wrongVersion = valid.clone();
        wrongVersion[4] = 9;
        byte[] hugeLength = valid.clone();
        hugeLength[6] = 0x7f;

        send(control, "hello, worker\n".getBytes(StandardCharsets.UTF_8));
        send(control, Arrays.copyOf(valid, valid.length - 3));
        send(control, wrongVersion);
        send(control, hugeLength);
        send(control, valid); // well-formed, but the workflow is waiting, not running: refused by state

        assertThat(h.worker.isAlive(id)).isTrue();
        assertThat(h.awaitExit(id)).as(h.logText(id)).isZero();
        assertThat(accepted.isOpen()).isTrue();
      }
      assertThat(h.logText(id)).contains("checkpoint ok after closing the peer");
      assertThat(h.events(id, SUSPENDED)).isEmpty();
      assertThat(h.events(id, CHECKPOINTED)).as("only the workflow's own checkpoint").hasSize(1);
      assertThat(h.events(id, RESTORE_FAILED)).isEmpty();
    }
  }

  private static byte[] validSuspend(String id) {
    return FrameCodec.encode(new Suspend(id, WaitKind.CHECKPOINT, Optional.empty(), Optional.empty(), "m", "", Optional.empty())
        .toFrame());
  }

  private static void send(Path socket, byte[] bytes) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap(bytes));
    }
  }
}
