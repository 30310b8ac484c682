package dev.torpor.bench;

import static dev.torpor.bench.SnapshotBenchmark.ms;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.bench.SnapshotBenchmark.Table;
import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.scheduler.PostgresProcess;
import dev.torpor.storage.S3ProxyProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The cluster benchmark (issue #5): wake-ups per second with 1, 2 and 3 {@code torpor worker}
 * processes behind one {@code torpor server --no-worker}, and failover time (a worker killed with
 * SIGKILL while it runs segments, until each of its workflows runs again on another worker). All
 * real processes on this machine: PostgreSQL (Debian's package, a throw-away cluster on a loopback
 * port), S3Proxy (from Maven Central) for images and application jars, the server and the workers.
 *
 * <p>Usage, from the project root after {@code mvn install -DskipTests}, as root:
 *
 * <pre>
 * java -cp bench/target/torpor-bench.jar dev.torpor.bench.ClusterBenchmark [workflows] [cycles] [kills] [markdown-out]
 * </pre>
 *
 * Defaults: 24 workflows of {@code dev.torpor.examples.Cycles} with 20 waits each for every worker
 * count, 5 kills. Each worker may run 4 workflow JVMs at once; the lease TTL is the default, 10 s.
 * On one 2-core machine more workers add coordination, not CPU: the wake-up figures measure the
 * overhead of the cluster, not its scale.
 */
public final class ClusterBenchmark {
  private static final String BUCKET = "bench-cluster";
  private static final int MAX_RUNNING = 4;
  private static final String LEASE_TTL = "10s";

  private final Path root;
  private final Path cliJar;
  private final PostgresProcess pg;
  private final S3ProxyProcess s3;
  private int rounds;

  private ClusterBenchmark(Path root, Path cliJar, PostgresProcess pg, S3ProxyProcess s3) {
    this.root = root;
    this.cliJar = cliJar;
    this.pg = pg;
    this.s3 = s3;
  }

  public static void main(String[] args) throws Exception {
    int workflows = args.length > 0 ? Integer.parseInt(args[0]) : 24;
    int cycles = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    int kills = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    Path out = args.length > 3 ? Path.of(args[3]) : null;
    if (workflows < 1 || cycles < 1 || kills < 1) {
      throw new IllegalArgumentException("workflows, cycles and kills must be at least 1");
    }
    CriuEngine criu = CriuEngine.locate();
    Path root = Files.createTempDirectory(Path.of("/tmp"), "torpor-bench-cluster-");
    // Crossable (not listable) by others: CRIU restores workflows as an unprivileged user who must reach the run base.
    Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    Path keys = root.resolve("image.keys");
    Files.writeString(keys, dev.torpor.storage.crypto.ImageKeyring.generate() + "\n");
    Files.setPosixFilePermissions(keys, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    if (System.getProperty(S3ProxyProcess.JAR_PROPERTY) == null) {
      System.setProperty(S3ProxyProcess.JAR_PROPERTY, BenchStores.defaultS3ProxyJar().toString());
    }
    try (PostgresProcess pg = new PostgresProcess(); S3ProxyProcess s3 = S3ProxyProcess.launch()) {
      s3.createBucket(BUCKET);
      ClusterBenchmark b = new ClusterBenchmark(root, BenchServer.cliJar(), pg, s3);
      StringBuilder report = new StringBuilder();
      Table t = new Table("workers", "wake-ups", "wake-ups/s", "resume ms median", "resume ms p95", "segments per worker");
      for (int n = 1; n <= 3; n++) {
        b.throughput(n, workflows, cycles, t);
      }
      report.append("Wake-ups per second: ").append(workflows).append(" workflows of `Cycles ").append(cycles)
          .append("` (each wait a full suspend and resume through S3), up to ").append(MAX_RUNNING)
          .append(" JVMs per worker. On one 2-core machine every worker shares the same two cores, so more workers")
          .append(" measure the cluster's overhead (leases, Quartz's cluster lock, polling), not its scale.\n\n")
          .append(t).append('\n');
      IOException failed = null;
      try {
        report.append(b.failover(kills));
      } catch (IOException e) {
        failed = e; // the wake-up figures above still go into the report
        report.append("Failover: the run stopped: ").append(e.getMessage()).append(".\n");
      }
      System.out.print(report);
      if (out != null) {
        append(out, report.toString(), criu, args);
      }
      if (failed != null) {
        throw failed;
      }
    } finally {
      SnapshotBenchmark.deleteTree(root);
    }
  }

  // ----- wake-ups per second -----

  private void throughput(int workers, int workflows, int cycles, Table t) throws Exception {
    try (Cluster c = new Cluster(workers)) {
      String app = c.server.uploadApp(BenchServer.examplesJar(c.dir, "/dev/torpor/bench/workflow/torpor-examples.jar"));
      for (int i = 0; i < workflows; i++) {
        c.server.submit("tp-" + i, app, "dev.torpor.examples.Cycles", List.of(Integer.toString(cycles)), List.of());
      }
      c.awaitCompleted(workflows, Duration.ofMinutes(30));
      List<Long> resumedAt = new ArrayList<>();
      List<Double> resumeMs = new ArrayList<>();
      Map<String, Integer> perWorker = new TreeMap<>();
      for (int i = 0; i < workflows; i++) {
        for (JsonNode e : c.server.history("tp-" + i)) {
          String type = e.get("type").asText();
          if (type.equals("RESUMED")) {
            resumedAt.add(Instant.parse(e.get("at").asText()).toEpochMilli());
            resumeMs.add(e.get("details").get("resumeMillis").asDouble());
          } else if ((type.equals("WAKING") || type.equals("STARTED")) && e.get("details").has("worker")) {
            perWorker.merge(e.get("details").get("worker").asText().replaceAll("@.*", ""), 1, Integer::sum);
          }
        }
      }
      resumedAt.sort(null);
      double seconds = (resumedAt.get(resumedAt.size() - 1) - resumedAt.get(0)) / 1000.0;
      Stats r = Stats.of(resumeMs);
      t.row(Integer.toString(workers), Integer.toString(resumedAt.size()),
          String.format(Locale.ROOT, "%.1f", (resumedAt.size() - 1) / seconds), ms(r.median()), ms(r.p95()),
          perWorker.toString());
      log(workers + " worker(s): " + resumedAt.size() + " wake-ups in " + seconds + " s");
    }
  }

  // ----- failover -----

  private String failover(int kills) throws Exception {
    List<Double> seconds = new ArrayList<>();
    List<Double> detect = new ArrayList<>();
    List<Double> committedBack = new ArrayList<>();
    try (Cluster c = new Cluster(3)) {
      String app = c.server.uploadApp(BenchServer.examplesJar(c.dir, "/dev/torpor/bench/workflow/torpor-examples.jar"));
      for (int i = 0; i < 9; i++) {
        c.server.submit("fo-" + i, app, "dev.torpor.examples.Cycles", List.of("100000"), List.of());
      }
      for (int k = 0; k < kills; k++) {
        int victim = k % 3;
        BenchWorker w = c.workers.get(victim);
        Set<String> owned = Set.of();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (owned.isEmpty()) {
          if (System.nanoTime() > deadline) {
            throw new IOException(w.name + " ran no segment for 3 minutes");
          }
          owned = c.runningOn(w.name);
          Thread.sleep(5);
        }
        Instant killedAt = Instant.now();
        w.kill9();
        // What the dead worker still owns once a commit it sent before dying has landed: those
        // wait for its lease to expire (10 s), so half a second later the set is settled. A
        // workflow of `owned` not among them committed its suspend as the worker died: it was
        // not orphaned, its wake comes through Quartz or the sweep instead of a recovery.
        Thread.sleep(500);
        Set<String> orphaned = c.runningOn(w.name);
        Set<String> committed = new HashSet<>(owned);
        committed.removeAll(orphaned);
        log("kill " + (k + 1) + ": " + w.name + " with " + orphaned
            + (committed.isEmpty() ? "" : "; suspend committed as it died: " + committed));
        for (String id : orphaned) {
          Instant[] back = backAfter(c, id, killedAt, true);
          detect.add(Duration.between(killedAt, back[0]).toMillis() / 1000.0);
          seconds.add(Duration.between(killedAt, back[1]).toMillis() / 1000.0);
        }
        for (String id : committed) {
          committedBack.add(Duration.between(killedAt, backAfter(c, id, killedAt, false)[1]).toMillis() / 1000.0);
        }
        c.workers.set(victim, c.worker(w.name)); // back, for the next kill
      }
    }
    Stats s = Stats.of(seconds);
    Stats d = Stats.of(detect);
    Table t = new Table("failover (lease TTL " + LEASE_TTL + ")", "median s", "max s", "workflows");
    t.row("worker killed → lease declared expired, workflow recovered", String.format(Locale.ROOT, "%.2f", d.median()),
        String.format(Locale.ROOT, "%.2f", d.max()), Integer.toString(d.count()));
    t.row("worker killed → workflow running again on another worker", String.format(Locale.ROOT, "%.2f", s.median()),
        String.format(Locale.ROOT, "%.2f", s.max()), Integer.toString(s.count()));
    if (!committedBack.isEmpty()) {
      Stats b = Stats.of(committedBack);
      t.row("worker killed as it committed a suspend → the workflow's wake ran on another worker",
          String.format(Locale.ROOT, "%.2f", b.median()), String.format(Locale.ROOT, "%.2f", b.max()),
          Integer.toString(b.count()));
    }
    return "Failover: " + kills + " times a worker of three was killed with SIGKILL while it ran segments of"
        + " `Cycles` workflows; for each workflow it was running, the time until the cluster declared its lease"
        + " expired and recovered the workflow, and until the workflow ran again (RESUMED from its last image, or"
        + " started again) on another worker. Failover is bounded below by the lease TTL (`--lease-ttl`).\n\n"
        + t + '\n';
  }

  /**
   * When {@code id} was recovered (RECOVERED, if {@code recovered} is awaited) and when it ran
   * again after that (RESUMED or PROCESS_STARTED), both at or after {@code killedAt}; at most 2 minutes.
   */
  private static Instant[] backAfter(Cluster c, String id, Instant killedAt, boolean recovered) throws Exception {
    Instant[] back = new Instant[2];
    long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (back[1] == null) {
      if (System.nanoTime() > until) {
        throw new IOException(id + " did not run again within 2 minutes of the kill"
            + (recovered && back[0] == null ? " (not recovered)" : ""));
      }
      for (JsonNode e : c.server.history(id)) {
        Instant at = Instant.parse(e.get("at").asText());
        String type = e.get("type").asText();
        if (at.isBefore(killedAt)) {
          continue;
        }
        if (back[0] == null && (type.equals("RECOVERED") || !recovered)) {
          back[0] = at;
        }
        if (back[0] != null && !at.isBefore(back[0]) && (type.equals("RESUMED") || type.equals("PROCESS_STARTED"))) {
          back[1] = at;
          break;
        }
      }
      Thread.sleep(100);
    }
    return back;
  }

  // ----- the cluster -----

  /** One round: a fresh database and store prefix, the API server and {@code n} workers. */
  private final class Cluster implements AutoCloseable {
    final Path dir;
    final String dbUrl;
    final String prefix;
    final BenchServer server;
    final List<BenchWorker> workers = new ArrayList<>();

    Cluster(int n) throws Exception {
      rounds++;
      prefix = "round" + rounds;
      dir = Files.createDirectories(root.resolve(prefix));
      dbUrl = pg.createDatabase(prefix);
      Files.createDirectories(dir.resolve("server"));
      server = BenchServer.start(cliJar, dir.resolve("server"), dir.resolve("run"), dir.resolve("server"),
          concat(List.of("--no-worker"), shared()), s3env());
      for (int i = 1; i <= n; i++) {
        workers.add(worker("w" + i));
      }
    }

    List<String> shared() {
      return List.of("--db-url", dbUrl, "--db-user", "postgres", "--image-key-file", root.resolve("image.keys").toString(),
          "--store", "s3://" + BUCKET + "/" + prefix,
          "--s3-endpoint", s3.endpoint().toString(), "--s3-region", "us-east-1", "--lease-ttl", LEASE_TTL);
    }

    BenchWorker worker(String name) throws IOException, InterruptedException {
      return BenchWorker.start(cliJar, name, dir.resolve(name), concat(List.of("--run-dir", dir.resolve("run").toString(),
          "--lib-dir", dir.resolve("lib").toString(), "--max-running", Integer.toString(MAX_RUNNING)), shared()), s3env());
    }

    Set<String> runningOn(String worker) throws SQLException {
      Set<String> out = new HashSet<>();
      try (Connection c = DriverManager.getConnection(dbUrl, "postgres", "");
          PreparedStatement ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE state = 'RUNNING' AND owner LIKE ?")) {
        ps.setString(1, worker + "@%");
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getString(1));
          }
        }
      }
      return out;
    }

    void awaitCompleted(int n, Duration atMost) throws Exception {
      long deadline = System.nanoTime() + atMost.toNanos();
      while (server.count("COMPLETED") < n) {
        if (server.count("FAILED") > 0) {
          throw new IOException("a workflow failed: " + server.list("FAILED"));
        }
        if (System.nanoTime() > deadline) {
          throw new IOException("not all " + n + " workflows completed within " + atMost);
        }
        Thread.sleep(250);
      }
    }

    @Override
    public void close() throws IOException {
      for (BenchWorker w : workers) {
        w.close();
      }
      server.close();
    }
  }

  private Map<String, String> s3env() {
    return Map.of("AWS_ACCESS_KEY_ID", s3.accessKey(), "AWS_SECRET_ACCESS_KEY", s3.secretKey());
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  private static void append(Path file, String report, CriuEngine criu, String[] args) throws IOException {
    String date = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    StringBuilder md = new StringBuilder("\n## Cluster (issue #5), ").append(date, 0, 10).append("\n\nMachine:\n\n");
    Map<String, String> machine = new LinkedHashMap<>(SnapshotBenchmark.machine(criu, Path.of("/tmp")));
    machine.put("image store", "S3Proxy (its own JVM on this machine, filesystem backend) over HTTP on 127.0.0.1");
    machine.put("registry", "PostgreSQL " + SnapshotBenchmark.command(10, "sh", "-c",
        "ls /usr/lib/postgresql | sort -V | tail -1").orElse("?") + " (Debian's package, fsync off) on 127.0.0.1");
    machine.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
    md.append("\nCommand: `java -cp bench/target/torpor-bench.jar dev.torpor.bench.ClusterBenchmark ")
        .append(String.join(" ", args)).append("`\n\n").append(report);
    Files.writeString(file, md, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }
}
