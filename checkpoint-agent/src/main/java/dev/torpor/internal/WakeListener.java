package dev.torpor.internal;

import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.ProtocolException;
import dev.torpor.internal.protocol.Wake;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The workflow's wake socket: a unix socket listening in its run directory, owned by one
 * daemon thread. It survives the checkpoint (CRIU restores listening unix sockets), so after
 * a restore the worker connects to it and sends a {@link Wake}: a push, no polling. A
 * connection that sends anything but a valid WAKE frame is logged and closed; the wait goes
 * on. The accepting thread is separate from the waiting one because an interrupt of a thread
 * blocked on a channel would close the channel.
 */
final class WakeListener {
  private final ServerSocketChannel server;
  private final BlockingQueue<Wake> wakes = new LinkedBlockingQueue<>();

  WakeListener(Path socket) throws IOException {
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket), 8);
    Thread t = new Thread(this::acceptLoop, "torpor-wake");
    t.setDaemon(true);
    t.start();
  }

  /** Forgets wakes that arrived while nobody waited (a stale or duplicated delivery). */
  void clear() {
    wakes.clear();
  }

  Wake take() {
    return Uninterruptibles.take(wakes);
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try (SocketChannel ch = server.accept()) {
        InputStream in = Channels.newInputStream(ch);
        try {
          wakes.add(Wake.from(FrameCodec.read(in)));
        } catch (ProtocolException | IOException e) {
          System.err.println("torpor: refused a connection on the wake socket: " + e.getMessage());
        }
      } catch (IOException e) {
        System.err.println("torpor: wake socket accept failed: " + e);
      }
    }
  }
}
