package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.Resumed;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlServerTest {
  @TempDir
  Path dir;

  private final List<Frame> frames = new CopyOnWriteArrayList<>();
  private final List<String> complaints = new CopyOnWriteArrayList<>();

  @Test
  void aSilentConnectionIsDroppedAndTheFrameBehindItIsHandled() throws Exception {
    Path socket = dir.resolve("control.sock");
    ControlServer server = new ControlServer(socket, frames::add, complaints::add, Duration.ofMillis(300));
    try (server; SocketChannel silent = connect(socket)) {
      silent.write(ByteBuffer.wrap(new byte[] {'T', 'O'})); // two bytes of a frame, then nothing
      try (SocketChannel agent = connect(socket)) {
        agent.write(ByteBuffer.wrap(FrameCodec.encode(new Resumed("wf", 3, 42).toFrame())));
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> frames.size() == 1);
      assertThat(Resumed.from(frames.get(0))).isEqualTo(new Resumed("wf", 3, 42));
      assertThat(complaints).singleElement().asString().contains("sent no whole frame in 300 ms");
    }
  }

  @Test
  void framesAreHandledInTheOrderTheirConnectionsCame() throws Exception {
    Path socket = dir.resolve("control.sock");
    ControlServer server = new ControlServer(socket, frames::add, complaints::add);
    try (server) {
      for (int i = 0; i < 20; i++) {
        try (SocketChannel agent = connect(socket)) {
          agent.write(ByteBuffer.wrap(FrameCodec.encode(new Resumed("wf", i, i).toFrame())));
        }
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> frames.size() == 20);
      for (int i = 0; i < 20; i++) {
        assertThat(Resumed.from(frames.get(i)).seq()).isEqualTo(i);
      }
      assertThat(complaints).isEmpty();
    }
  }

  @Test
  void aTruncatedFrameIsRefusedWithoutWaitingForTheTimeout() throws Exception {
    Path socket = dir.resolve("control.sock");
    ControlServer server = new ControlServer(socket, frames::add, complaints::add, Duration.ofMinutes(5));
    try (server) {
      byte[] whole = FrameCodec.encode(new Resumed("wf", 1, 1).toFrame());
      try (SocketChannel agent = connect(socket)) {
        agent.write(ByteBuffer.wrap(whole, 0, whole.length - 1));
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> !complaints.isEmpty());
      assertThat(complaints.get(0)).contains("refused");
      assertThat(frames).isEmpty();
    }
  }

  private static SocketChannel connect(Path socket) throws Exception {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    ch.connect(UnixDomainSocketAddress.of(socket));
    return ch;
  }
}
