package dev.torpor.scheduler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server from Debian's packages, started as its own process on a free
 * loopback port with a throw-away data directory (initdb runs as the postgres user, since
 * PostgreSQL refuses to run as root). {@code scripts/test.sh} installs the package. Used by the
 * launcher's tests and the benchmarks.
 */
public final class PostgresProcess implements AutoCloseable {
  public final Path dir;
  public final int port;
  private final Path bin;

  public PostgresProcess() throws IOException, InterruptedException {
    this(null);
  }

  /**
   * A server that, given {@code tls}, accepts TCP connections only over TLS ({@code hostssl}),
   * presenting {@code tls.cert()}: clients must trust {@code tls.ca()}.
   */
  public PostgresProcess(TestCerts tls) throws IOException, InterruptedException {
    bin = findBin();
    dir = Files.createTempDirectory(Path.of("/tmp"), "torpor-pg-");
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    run(List.of("chown", "postgres:postgres", dir.toString()));
    asPostgres(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust", "-U", "postgres",
        "--no-sync", "-E", "UTF8");
    String options = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off";
    if (tls != null) {
      Path cert = dir.resolve("data/server.crt");
      Path key = dir.resolve("data/server.key");
      Files.copy(tls.cert(), cert);
      Files.copy(tls.key(), key);
      run(List.of("chown", "postgres:postgres", cert.toString(), key.toString()));
      run(List.of("chmod", "600", key.toString()));
      Path hba = dir.resolve("data/pg_hba.conf");
      // TCP only over TLS: a client that does not speak it is turned away.
      Files.writeString(hba, Files.readString(hba).replaceAll("(?m)^host(\\s)", "hostssl$1"));
      options += " -c ssl=on -c ssl_cert_file=" + cert + " -c ssl_key_file=" + key;
    }
    asPostgres(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l", dir.resolve("log").toString(),
        "-w", "-o", options, "start");
    psql("CREATE DATABASE torpor");
  }

  private void psql(String sql) throws IOException, InterruptedException {
    // Over the unix socket: that way needs no TLS.
    asPostgres(bin.resolve("psql").toString(), "-h", dir.toString(), "-p", Integer.toString(port), "-U", "postgres",
        "-c", sql);
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/torpor";
  }

  /** A new, empty database on this server; returns its JDBC URL. */
  public String createDatabase(String name) throws IOException, InterruptedException {
    psql("CREATE DATABASE " + name);
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + name;
  }

  /** Restarts the server (fast shutdown: every connection is cut), with the same options. */
  public void restart() throws IOException, InterruptedException {
    asPostgres(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "restart");
  }

  private static Path findBin() throws IOException {
    try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
      return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
          .max(Comparator.comparing(Path::toString))
          .orElseThrow(() -> new IOException("no PostgreSQL server under /usr/lib/postgresql: run scripts/test.sh,"
              + " which installs Debian's postgresql package"));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IOException("PostgreSQL is not installed: run scripts/test.sh, which installs Debian's postgresql package", e);
    }
  }

  private void asPostgres(String... cmd) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    full.addAll(List.of(cmd));
    run(full);
  }

  private void run(List<String> cmd) throws IOException, InterruptedException {
    Path out = Files.createTempFile("torpor-pg", ".out");
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " failed: " + Files.readString(out));
      }
    } finally {
      Files.deleteIfExists(out);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      asPostgres(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "stop");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while stopping PostgreSQL", e);
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
