package dev.torpor.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.internal.TcpConnections.Connection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TcpConnectionsTest {
  private static final String TCP =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
          + "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 1001 1 0 100 0 0 10 0\n"
          + "   1: 0100007F:D5A6 0100007F:1538 01 00000000:00000000 00:00000000 00000000  2000        0 1002 1 0 20 4 30 10 -1\n"
          + "   2: 0100007F:D5A8 0100007F:1538 01 00000000:00000000 00:00000000 00000000  2000        0 9999 1 0 20 4 30 10 -1\n"
          + "   3: 0100007F:D5AA 0100007F:1538 06 00000000:00000000 03:00001770 00000000     0        0 1003 3 0\n";
  private static final String TCP6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
          + "   0: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:1538 01 00000000:00000000 00:00000000 00000000  2000        0 1004 1 0 20 4 30 10 -1\n"
          + "   1: 00000000000000000000000001000000:C351 00000000000000000000000001000000:0050 01 00000000:00000000 00:00000000 00000000  2000        0 1005 1 0 20 4 30 10 -1\n";

  @Test
  void parseKeepsTheEstablishedConnectionsOfTheGivenSockets() {
    List<Connection> found = TcpConnections.parse(TCP, inodes(1001L, 1002L, 1003L), ByteOrder.LITTLE_ENDIAN);

    assertThat(found).containsExactly(new Connection("127.0.0.1:54694", "127.0.0.1:5432"));
  }

  @Test
  void parseReadsIpv6AndShowsIpv4MappedAddressesAsIpv4() {
    List<Connection> found = TcpConnections.parse(TCP6, inodes(1004L, 1005L), ByteOrder.LITTLE_ENDIAN);

    assertThat(found).containsExactly(
        new Connection("127.0.0.1:50000", "127.0.0.1:5432"),
        new Connection("[0:0:0:0:0:0:0:1]:50001", "[0:0:0:0:0:0:0:1]:80"));
  }

  @Test
  void parseRemovesEverySocketTheTableListsSoTheNextTableIsReadOnlyForTheRest() {
    Set<Long> wanted = inodes(1001L, 1002L, 1003L, 1004L, 77L);

    TcpConnections.parse(TCP, wanted, ByteOrder.LITTLE_ENDIAN);

    assertThat(wanted).containsExactlyInAnyOrder(1004L, 77L);
  }

  @Test
  void unixInodesReadsTheInodeColumnOfTheUnixTable() {
    String unix = "Num       RefCount Protocol Flags    Type St Inode Path\n"
        + "0000000000000000: 00000002 00000000 00010000 0001 01 31337 /run/wake.sock\n"
        + "0000000000000000: 00000003 00000000 00000000 0001 03 4242\n";

    assertThat(TcpConnections.unixInodes(unix)).containsExactlyInAnyOrder(31337L, 4242L);
  }

  @Test
  void endpointFollowsTheKernelsByteOrder() {
    assertThat(TcpConnections.endpoint("0100007F:1538", ByteOrder.LITTLE_ENDIAN)).isEqualTo("127.0.0.1:5432");
    assertThat(TcpConnections.endpoint("7F000001:1538", ByteOrder.BIG_ENDIAN)).isEqualTo("127.0.0.1:5432");
  }

  @Test
  void parseSkipsTheHeaderAndMalformedLines() {
    assertThat(TcpConnections.parse("garbage\n\n   7: x y 01\n", inodes(1L), ByteOrder.LITTLE_ENDIAN)).isEmpty();
  }

  @Test
  void socketInodesReadsTheSocketLinksOfAnFdDirectory(@TempDir Path fds) throws IOException {
    Files.createSymbolicLink(fds.resolve("3"), Path.of("socket:[4242]"));
    Files.createSymbolicLink(fds.resolve("4"), Path.of("pipe:[17]"));
    Files.createSymbolicLink(fds.resolve("5"), Path.of("/tmp/some.log"));
    Files.createSymbolicLink(fds.resolve("6"), Path.of("socket:[7]"));

    assertThat(TcpConnections.socketInodes(fds)).containsExactlyInAnyOrder(4242L, 7L);
  }

  @Test
  void closedMessageNamesWhatWasOpenAtTheCheckpointAndIsNotAnyMore() {
    Connection pg = new Connection("127.0.0.1:54012", "127.0.0.1:5432");
    Connection http = new Connection("127.0.0.1:54013", "127.0.0.1:8080");
    Connection kept = new Connection("127.0.0.1:54014", "127.0.0.1:9000");

    assertThat(TcpConnections.closedMessage(ordered(pg, http, kept), Set.of(kept)))
        .contains("torpor: 2 TCP connection(s) open at the checkpoint were closed by it"
            + " (127.0.0.1:54012 -> 127.0.0.1:5432, 127.0.0.1:54013 -> 127.0.0.1:8080):"
            + " reopen connections after a wait, e.g. in an org.crac Resource's afterRestore");
    assertThat(TcpConnections.closedMessage(ordered(pg, kept), ordered(pg, kept, http))).isEmpty();
    assertThat(TcpConnections.closedMessage(Set.of(), Set.of())).isEmpty();
  }

  @Test
  void closedMessageListsTheFirstFewAndCountsTheRest() {
    Set<Connection> many = new LinkedHashSet<>();
    for (int i = 0; i < 8; i++) {
      many.add(new Connection("127.0.0.1:" + (50000 + i), "127.0.0.1:5432"));
    }

    String message = TcpConnections.closedMessage(many, Set.of()).orElseThrow();

    assertThat(message).startsWith("torpor: 8 TCP connection(s)").contains("127.0.0.1:50004 -> 127.0.0.1:5432, and 3 more)")
        .doesNotContain("50005");
  }

  @Test
  void establishedSeesThisProcesssOwnLoopbackConnectionUntilItCloses() throws IOException {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Connection mine;
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
          Socket accepted = server.accept()) {
        mine = new Connection("127.0.0.1:" + client.getLocalPort(), "127.0.0.1:" + server.getLocalPort());
        assertThat(TcpConnections.established()).contains(mine)
            .contains(new Connection("127.0.0.1:" + server.getLocalPort(), "127.0.0.1:" + client.getLocalPort()));
        assertThat(accepted.isConnected()).isTrue();
      }
      assertThat(TcpConnections.established()).doesNotContain(mine);
    }
  }

  private static Set<Long> inodes(Long... inodes) {
    return new java.util.HashSet<>(List.of(inodes));
  }

  private static Set<Connection> ordered(Connection... cs) {
    return new LinkedHashSet<>(List.of(cs));
  }
}
