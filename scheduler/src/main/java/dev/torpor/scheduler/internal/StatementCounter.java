package dev.torpor.scheduler.internal;

import dev.torpor.TorporException;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.Locale;
import javax.sql.DataSource;

/**
 * Counts the statements run on the registry's database, Torpor's and Quartz's, for the
 * control-plane benchmark (issue #12). Off unless the system property {@value #PROPERTY} names a
 * file; then every connection the pool hands out is wrapped, and the counts are kept in that file,
 * memory-mapped, so that another process (the benchmark) reads them at any moment without an API.
 *
 * <p>Counts are kept per transaction and filed when it ends, so that polling, which runs on a
 * clock rather than per workflow, can be told apart: a transaction that writes nothing on a
 * polling thread (the HTTP API's, Quartz's scheduler loop, misfire handler and cluster check-in,
 * the image janitor's, the leases') is counted as {@link Counts#idleStatements}. Quartz's
 * scheduler loop counts when it acquires a trigger, since that writes.
 */
public final class StatementCounter {
  /** The system property naming the counts file; unset, nothing is counted or wrapped. */
  public static final String PROPERTY = "torpor.db.statementCounts";

  private static final int TORPOR = 0;
  private static final int QUARTZ = 1;
  private static final int COMMITS = 2;
  private static final int ROLLBACKS = 3;
  private static final int IDLE = 4;
  private static final int IDLE_COMMITS = 5;
  private static final int FIELDS = 6;
  private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /**
   * Totals since the server started.
   *
   * @param torporStatements statements on Torpor's tables, outside idle polling
   * @param quartzStatements statements on Quartz's ({@code QRTZ_}) tables, outside idle polling
   * @param commits transactions committed, outside idle polling
   * @param rollbacks transactions rolled back
   * @param idleStatements statements of polling transactions that wrote nothing
   * @param idleCommits those transactions
   */
  public record Counts(long torporStatements, long quartzStatements, long commits, long rollbacks, long idleStatements,
      long idleCommits) {
    /** Statements outside idle polling, Torpor's and Quartz's. */
    public long statements() {
      return torporStatements + quartzStatements;
    }

    /** These counts less {@code earlier}'s. */
    public Counts minus(Counts earlier) {
      return new Counts(torporStatements - earlier.torporStatements, quartzStatements - earlier.quartzStatements,
          commits - earlier.commits, rollbacks - earlier.rollbacks, idleStatements - earlier.idleStatements,
          idleCommits - earlier.idleCommits);
    }
  }

  private final MappedByteBuffer counts;

  private StatementCounter(MappedByteBuffer counts) {
    this.counts = counts;
  }

  /** The counter the system property asks for, or null when it is unset. */
  static StatementCounter fromSystemProperty() {
    String file = System.getProperty(PROPERTY);
    if (file == null || file.isBlank()) {
      return null;
    }
    Path p = Path.of(file);
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      return new StatementCounter(ch.map(FileChannel.MapMode.READ_WRITE, 0, FIELDS * Long.BYTES));
    } catch (IOException | RuntimeException e) {
      throw new TorporException("-D" + PROPERTY + "=" + file + ": cannot create the statement counts file (" + e
          + "); give a writable path, or leave the property unset not to count", e);
    }
  }

  /** Reads the counts a server keeps in {@code file} (see {@link #PROPERTY}). */
  public static Counts read(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    if (b.capacity() < FIELDS * Long.BYTES) {
      throw new IOException(file + " holds " + b.capacity() + " bytes, not the " + FIELDS * Long.BYTES
          + " of statement counts: is it the file a server was given as -D" + PROPERTY + "?");
    }
    return new Counts(b.getLong(TORPOR * 8), b.getLong(QUARTZ * 8), b.getLong(COMMITS * 8), b.getLong(ROLLBACKS * 8),
        b.getLong(IDLE * 8), b.getLong(IDLE_COMMITS * 8));
  }

  /** {@code ds} with every connection it hands out counted. */
  DataSource wrap(DataSource ds) {
    return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class},
        (proxy, m, args) -> {
          Object r = invoke(ds, m, args);
          return r instanceof Connection c ? new Tx(c).proxy() : r;
        });
  }

  private void add(int field, long n) {
    if (n != 0) {
      LONGS.getAndAdd(counts, field * Long.BYTES, n);
    }
  }

  /** Whether a thread's work runs on a clock (or at a client's asking) rather than per workflow. */
  static boolean pollingThread(String name) {
    return name.startsWith("torpor-http-") || name.startsWith("HTTP-Dispatcher")
        || name.endsWith("_QuartzSchedulerThread") || name.endsWith("_MisfireHandler")
        || name.endsWith("_ClusterManager") || name.equals("torpor-image-gc") || name.startsWith("torpor-lease") || name.equals("torpor-sweep");
  }

  static boolean writes(String sql) {
    String s = sql.stripLeading().toUpperCase(Locale.ROOT);
    return s.startsWith("INSERT") || s.startsWith("UPDATE") || s.startsWith("DELETE") || s.startsWith("MERGE")
        || s.startsWith("CREATE") || s.startsWith("ALTER") || s.startsWith("DROP");
  }

  private static Object invoke(Object target, Method m, Object[] args) throws Throwable {
    try {
      return m.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  /** One connection's current transaction: its counts, filed when it ends. */
  private final class Tx implements InvocationHandler {
    private final Connection connection;
    private long torpor;
    private long quartz;
    private boolean wrote;

    Tx(Connection connection) {
      this.connection = connection;
    }

    Connection proxy() {
      return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class}, this);
    }

    @Override
    public synchronized Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
      String name = m.getName();
      Object r = StatementCounter.invoke(connection, m, args);
      switch (name) {
        case "commit" -> end(true);
        case "rollback" -> {
          if (args == null || args.length == 0) {
            end(false);
          }
        }
        case "close" -> end(true); // statements run with auto-commit on end with the connection's lease
        default -> {
          if (r instanceof Statement s) {
            String sql = (name.equals("prepareStatement") || name.equals("prepareCall")) ? (String) args[0] : null;
            Class<?> type = r instanceof CallableStatement ? CallableStatement.class
                : r instanceof PreparedStatement ? PreparedStatement.class : Statement.class;
            return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, new Counted(s, sql));
          }
        }
      }
      return r;
    }

    synchronized void ran(String sql, long n) {
      if (sql != null && sql.toUpperCase(Locale.ROOT).contains("QRTZ_")) {
        quartz += n;
      } else {
        torpor += n;
      }
      wrote |= sql != null && writes(sql);
    }

    private void end(boolean committed) {
      long n = torpor + quartz;
      if (n == 0) {
        return;
      }
      if (!wrote && committed && pollingThread(Sql.workingFor())) {
        add(IDLE, n);
        add(IDLE_COMMITS, 1);
      } else {
        add(TORPOR, torpor);
        add(QUARTZ, quartz);
        add(committed ? COMMITS : ROLLBACKS, 1);
      }
      torpor = 0;
      quartz = 0;
      wrote = false;
    }

    /** A statement of this connection: each execution counted, a batch as its statements. */
    private final class Counted implements InvocationHandler {
      private final Statement statement;
      private final String prepared;
      private String batchSql;
      private long batched;

      Counted(Statement statement, String prepared) {
        this.statement = statement;
        this.prepared = prepared;
      }

      @Override
      public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
        String name = m.getName();
        Object r = StatementCounter.invoke(statement, m, args);
        if (name.equals("addBatch")) {
          batched++;
          if (args != null && args.length == 1 && args[0] instanceof String s) {
            batchSql = s;
          }
        } else if (name.equals("clearBatch")) {
          batched = 0;
        } else if (name.startsWith("executeBatch") || name.startsWith("executeLargeBatch")) {
          ran(prepared != null ? prepared : batchSql, batched);
          batched = 0;
        } else if (name.startsWith("execute")) {
          ran(args != null && args.length > 0 && args[0] instanceof String s ? s : prepared, 1);
        } else if (name.equals("getConnection")) {
          return Tx.this.proxy();
        }
        return r;
      }
    }
  }
}
