package dev.torpor.launcher.it.workflows;

import dev.torpor.CheckpointException;
import dev.torpor.Durable;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * Holds a unix-socket connection to a peer outside its process tree, which CRIU refuses to
 * dump: the wait must be kept in memory, and checkpoint() must throw until it closes it.
 */
public final class Undumpable {
  private Undumpable() {}

  public static void main(String[] args) throws Exception {
    SocketChannel peer = SocketChannel.open(StandardProtocolFamily.UNIX);
    peer.connect(UnixDomainSocketAddress.of(args[0]));
    long t0 = System.currentTimeMillis();
    System.out.println("connected; waiting");
    Durable.waitFor(Duration.ofSeconds(3));
    System.out.println("after wait wallMillis=" + (System.currentTimeMillis() - t0));
    try {
      Durable.checkpoint();
      System.out.println("checkpoint unexpectedly ok");
    } catch (CheckpointException e) {
      System.out.println("checkpoint refused: " + e.getMessage());
    }
    peer.close();
    Durable.checkpoint();
    System.out.println("checkpoint ok after closing the peer");
  }
}
