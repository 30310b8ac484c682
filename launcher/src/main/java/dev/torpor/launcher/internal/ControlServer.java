package dev.torpor.launcher.internal;

import dev.torpor.internal.protocol.Frame;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.ProtocolException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The worker's end of one workflow's control channel: a unix socket in the workflow's run
 * directory. The agent connects, sends one frame and closes. A connection that sends garbage,
 * a truncated frame or a frame of another protocol version is logged and refused; the
 * workflow is not affected. Frames are handled one at a time, in the order their connections
 * came; a connection that has not sent its whole frame within {@link #READ_TIMEOUT} is dropped,
 * so that a silent one cannot hold up the frames behind it.
 */
final class ControlServer implements AutoCloseable {
  /** How long a connection may take to send its frame (the agent writes it at once). */
  static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

  private final Path socket;
  private final ServerSocketChannel server;
  private final Consumer<Frame> handler;
  private final Consumer<String> complaints;
  private final Duration readTimeout;
  /** The socket file this server made (its inode): close deletes that one only. */
  private final Object socketFile;

  ControlServer(Path socket, Consumer<Frame> handler, Consumer<String> complaints) throws IOException {
    this(socket, handler, complaints, READ_TIMEOUT);
  }

  ControlServer(Path socket, Consumer<Frame> handler, Consumer<String> complaints, Duration readTimeout)
      throws IOException {
    this.socket = socket;
    this.handler = handler;
    this.complaints = complaints;
    this.readTimeout = readTimeout;
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket), 16);
    socketFile = Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class,
        java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey();
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
      try (SocketChannel ch = server.accept(); Selector selector = Selector.open()) {
        ch.configureBlocking(false);
        frame = FrameCodec.read(new DeadlineInput(ch, selector, System.nanoTime() + readTimeout.toNanos()));
      } catch (SocketTimeoutException e) {
        complaints.accept("dropped a connection on " + socket + " that sent no whole frame in " + readTimeout.toMillis()
            + " ms");
        continue;
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

  /** A non-blocking channel read as a stream that gives up at a deadline. */
  private static final class DeadlineInput extends InputStream {
    private final SocketChannel ch;
    private final Selector selector;
    private final long deadline;

    DeadlineInput(SocketChannel ch, Selector selector, long deadline) throws IOException {
      this.ch = ch;
      this.selector = selector;
      this.deadline = deadline;
      ch.register(selector, SelectionKey.OP_READ);
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      ByteBuffer buf = ByteBuffer.wrap(b, off, len);
      while (true) {
        int n = ch.read(buf);
        if (n != 0 || len == 0) {
          return n;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new SocketTimeoutException("no frame in time");
        }
        selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
      }
    }
  }

  @Override
  public void close() {
    try {
      server.close();
      // In a cluster the run directory is shared: a worker that lost the workflow must not delete
      // the socket its new owner bound there since.
      if (socketFile != null && Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)
          && socketFile.equals(Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey())) {
        Files.deleteIfExists(socket);
      }
    } catch (IOException e) {
      complaints.accept("closing " + socket + " failed: " + e);
    }
  }
}
