package dev.torpor.launcher.internal;

import dev.torpor.internal.SupervisedRuntime;
import dev.torpor.internal.protocol.FrameCodec;
import dev.torpor.internal.protocol.Resumed;
import dev.torpor.internal.protocol.Wake;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@link WorkerLifecycleTest}'s fake engine "restores": a process that, like a restored
 * workflow JVM, listens on the run directory's wake socket, takes one WAKE, says what it got on
 * stdout, reports RESUMED to the worker and exits with the code it was given.
 *
 * <p>Arguments: the run directory, the workflow id, the exit code.
 */
public final class StandInRestore {
  private StandInRestore() {}

  public static void main(String[] args) throws Exception {
    Path socket = Path.of(args[0]).resolve(SupervisedRuntime.WAKE_SOCKET);
    Files.deleteIfExists(socket);
    Wake wake;
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      try (SocketChannel ch = server.accept()) {
        wake = Wake.from(FrameCodec.read(Channels.newInputStream(ch)));
      }
    }
    System.out.println("stand-in woke: " + wake.reason() + (wake.restored() ? " restored" : " in memory")
        + wake.signals().stream().findFirst().map(s -> " " + s.name() + "=" + new String(s.payload(),
            StandardCharsets.UTF_8)).orElse(""));
    System.out.flush();
    try (SocketChannel ctl = SocketChannel.open(UnixDomainSocketAddress.of(wake.workerAddress()))) {
      FrameCodec.write(Channels.newOutputStream(ctl), new Resumed(args[1], wake.seq(), 0).toFrame());
    }
    System.exit(Integer.parseInt(args[2]));
  }
}
