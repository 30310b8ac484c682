package dev.torpor.launcher.internal;

import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.ProtocolException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The worker's end of one workflow's control channel: a unix socket in the workflow's run
 * directory. The agent connects, sends one frame and closes. A connection that sends garbage,
 * a truncated frame or a frame of another protocol version is logged and refused; the
 * workflow is not affected.
 */
final class ControlServer implements AutoCloseable {
  private final Path socket;
  private final ServerSocketChannel server;
  private final Consumer<Frame> handler;
  private final Consumer<String> complaints;

  ControlServer(Path socket, Consumer<Frame> handler, Consumer<String> complaints) throws IOException {
    this.socket = socket;
    this.handler = handler;
    this.complaints = complaints;
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket), 16);
    Thread t = new Thread(this::acceptLoop, "torpor-control-" + socket.getParent().getFileName());
    t.setDaemon(true);
    t.start();
  }

  Path socket() {
    return socket;
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      Frame frame;
      try (SocketChannel ch = server.accept()) {
        frame = FrameCodec.read(Channels.newInputStream(ch));
      } catch (ProtocolException e) {
        complaints.accept("refused a malformed frame on " + socket + ": " + e.getMessage());
        continue;
      } catch (IOException e) {
        if (server.isOpen()) {
          complaints.accept("refused a connection on " + socket + ": " + e);
        }
        continue;
      }
      try {
        handler.accept(frame);
      } catch (ProtocolException e) {
        complaints.accept("refused a " + frame.type() + " frame on " + socket + ": " + e.getMessage());
      }
    }
  }

  @Override
  public void close() {
    try {
      server.close();
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      complaints.accept("closing " + socket + " failed: " + e);
    }
  }
}
