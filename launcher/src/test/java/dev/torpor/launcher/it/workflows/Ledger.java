package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A workflow that writes its own side effects to PostgreSQL: one row per step, counting how
 * often each step ran. Args: JDBC URL, timer millis, "signal" to also wait for signal "go" (else
 * "none"), optionally millis of work (a sleep) in each segment, and MiB of random heap whose
 * checksum it checks after every wait (it exits 3 if the heap came back changed). It opens a connection per step
 * and closes it before it waits, as a workflow should, and rides out a database restart.
 */
public final class Ledger {
  private Ledger() {}

  public static void main(String[] args) throws SQLException {
    String url = args[0];
    long millis = Long.parseLong(args[1]);
    boolean signal = args.length > 2 && args[2].equals("signal");
    long work = args.length > 3 ? Long.parseLong(args[3]) : 0;
    int heapMib = args.length > 4 ? Integer.parseInt(args[4]) : 0;
    byte[][] heap = new byte[heapMib][1 << 20];
    java.util.Random random = new java.util.Random();
    for (byte[] mib : heap) {
      random.nextBytes(mib);
    }
    long checksum = checksum(heap);
    String id = System.getenv("TORPOR_WORKFLOW_ID");
    effect(url, id, "start");
    System.out.println("start " + id);
    work(work);
    Durable.waitFor(Duration.ofMillis(millis));
    intact(heap, checksum);
    effect(url, id, "timer");
    work(work);
    if (signal) {
      effect(url, id, "signal:" + Durable.awaitSignal("go").text());
    }
    Durable.waitFor(Duration.ofMillis(millis));
    intact(heap, checksum);
    effect(url, id, "done");
    System.out.println("done " + id);
  }

  private static long checksum(byte[][] heap) {
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    for (byte[] mib : heap) {
      crc.update(mib);
    }
    return crc.getValue();
  }

  private static void intact(byte[][] heap, long checksum) {
    if (checksum(heap) != checksum) {
      System.out.println("heap changed across a restore");
      System.exit(3);
    }
  }

  private static void work(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void effect(String url, String id, String step) throws SQLException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try (Connection c = DriverManager.getConnection(url, "postgres", "");
          PreparedStatement ps = c.prepareStatement("INSERT INTO ledger (workflow_id, step, runs) VALUES (?, ?, 1)"
              + " ON CONFLICT (workflow_id, step) DO UPDATE SET runs = ledger.runs + 1")) {
        ps.setString(1, id);
        ps.setString(2, step);
        ps.executeUpdate();
        return;
      } catch (SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (!(state.startsWith("08") || state.startsWith("57P")) || System.nanoTime() > deadline) {
          throw e;
        }
        work(200); // the database is restarting
      }
    }
  }
}
