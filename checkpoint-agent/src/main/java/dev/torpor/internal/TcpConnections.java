package dev.torpor.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The established TCP connections of this process, read from {@code /proc}: the socket inodes
 * among {@code /proc/self/fd}, looked up in {@code /proc/self/net/tcp} and {@code tcp6}. A
 * checkpoint closes every one of them ({@code criu --tcp-close}); comparing the connections
 * open before it with those open after the restore names them, so that the I/O error a workflow
 * then gets from, say, a JDBC connection has a visible cause. Cheap: a few small reads per
 * checkpoint, none of {@code /proc/self/net} when the process holds no socket.
 */
final class TcpConnections {
  /** One direction-less connection as {@code host:port}; IPv4-mapped IPv6 addresses read as IPv4. */
  record Connection(String local, String remote) {
    @Override
    public String toString() {
      return local + " -> " + remote;
    }
  }

  /** How many connections the message lists by address. */
  static final int LISTED = 5;

  private static final String ESTABLISHED = "01";

  private TcpConnections() {}

  /**
   * This process's established TCP connections; empty where {@code /proc} cannot say. Reading
   * {@code /proc/net/tcp} costs the kernel a walk of its connection tables (about 4 ms each here),
   * so the tables are read only for sockets that are not unix sockets (most JVMs hold only those),
   * {@code tcp6} first (Java's sockets are dual-stack), and {@code tcp} only for sockets still
   * unaccounted for.
   */
  static Set<Connection> established() {
    try {
      Set<Long> inodes = socketInodes(Path.of("/proc/self/fd"));
      if (!inodes.isEmpty()) {
        inodes.removeAll(unixInodes(read("unix")));
      }
      Set<Connection> out = new LinkedHashSet<>();
      for (String table : List.of("tcp6", "tcp")) {
        if (inodes.isEmpty()) {
          break;
        }
        out.addAll(parse(read(table), inodes, ByteOrder.nativeOrder()));
      }
      return out;
    } catch (IOException | RuntimeException e) {
      return Set.of(); // a diagnosis only: never let it break a checkpoint
    }
  }

  private static String read(String table) throws IOException {
    Path file = Path.of("/proc/self/net", table);
    return Files.isReadable(file) ? Files.readString(file, StandardCharsets.US_ASCII) : "";
  }

  /** The socket inodes of a {@code /proc/net/unix} table (the seventh column). */
  static Set<Long> unixInodes(String table) {
    Set<Long> inodes = new HashSet<>();
    for (String line : table.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 7 && f[0].endsWith(":")) {
        try {
          inodes.add(Long.parseLong(f[6]));
        } catch (NumberFormatException e) {
          // not a socket line
        }
      }
    }
    return inodes;
  }

  /** The inodes of the sockets among the links in {@code fdDir} ({@code socket:[12345]}). */
  static Set<Long> socketInodes(Path fdDir) throws IOException {
    Set<Long> inodes = new HashSet<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
      for (Path fd : fds) {
        String target;
        try {
          target = Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
          continue; // closed meanwhile (the directory stream's own fd, for one)
        }
        if (target.startsWith("socket:[") && target.endsWith("]")) {
          inodes.add(Long.parseLong(target, 8, target.length() - 1, 10));
        }
      }
    }
    return inodes;
  }

  /**
   * The established connections in a {@code /proc/net/tcp} or {@code tcp6} table whose socket
   * inode is one of {@code inodes}; removes from {@code inodes} every inode the table lists, in
   * whatever state. Addresses there are hex words in the kernel's byte order.
   */
  static List<Connection> parse(String table, Set<Long> inodes, ByteOrder order) {
    List<Connection> out = new ArrayList<>();
    for (String line : table.split("\n")) {
      String[] f = line.trim().split("\\s+");
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      if (f.length < 10 || !f[0].endsWith(":")) {
        continue;
      }
      long inode;
      try {
        inode = Long.parseLong(f[9]);
      } catch (NumberFormatException e) {
        continue;
      }
      if (inodes.remove(inode) && ESTABLISHED.equals(f[3])) {
        out.add(new Connection(endpoint(f[1], order), endpoint(f[2], order)));
      }
    }
    return out;
  }

  /** {@code 0100007F:1538} → {@code 127.0.0.1:5432}; an IPv6 address in brackets. */
  static String endpoint(String hex, ByteOrder order) {
    int colon = hex.indexOf(':');
    String addr = hex.substring(0, colon);
    int port = Integer.parseInt(hex.substring(colon + 1), 16);
    ByteBuffer bytes = ByteBuffer.allocate(addr.length() / 2).order(order);
    for (int i = 0; i < addr.length(); i += 8) {
      bytes.putInt((int) Long.parseLong(addr.substring(i, i + 8), 16));
    }
    try {
      InetAddress a = InetAddress.getByAddress(bytes.array()); // no lookup; maps ::ffff:a.b.c.d to IPv4
      String host = a.getHostAddress();
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an address: " + hex, e);
    }
  }

  /**
   * The line to print after a restore when connections open at the checkpoint are not open any
   * more; empty if none were closed.
   */
  static Optional<String> closedMessage(Set<Connection> atCheckpoint, Set<Connection> now) {
    List<Connection> closed = atCheckpoint.stream().filter(c -> !now.contains(c)).toList();
    if (closed.isEmpty()) {
      return Optional.empty();
    }
    String listed = closed.stream().limit(LISTED).map(Connection::toString).collect(Collectors.joining(", "));
    if (closed.size() > LISTED) {
      listed += ", and " + (closed.size() - LISTED) + " more";
    }
    return Optional.of("torpor: " + closed.size() + " TCP connection(s) open at the checkpoint were closed by it ("
        + listed + "): reopen connections after a wait, e.g. in an org.crac Resource's afterRestore");
  }
}
