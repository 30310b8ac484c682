package dev.torpor.scheduler.internal;

import dev.torpor.TorporException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;

/**
 * Runs a unit of work in one transaction, retrying a serialization failure or deadlock at once,
 * and a lost database (a PostgreSQL restart, a dropped connection) with backoff for up to
 * {@link #OUTAGE_WINDOW}. Every unit of work is a compare-and-set on the registry, so running one
 * again after a commit whose acknowledgement was lost changes nothing twice but the history.
 */
final class Sql {
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  /** How long a unit of work waits for a database that went away; clients' timeouts are set past it. */
  static final Duration OUTAGE_WINDOW = dev.torpor.scheduler.ControlPlane.DATABASE_OUTAGE_WINDOW;

  /**
   * Where the units of work of a shielded {@code Sql} run: threads that nobody interrupts. H2
   * closes the whole database when a thread is interrupted while it waits for one of its own
   * locks during a commit (found by {@code RegistryDefectsTest}: an API thread interrupted
   * mid-submit left the embedded registry closed and the plane's close hanging).
   */
  private static final ExecutorService SHIELD = Executors.newCachedThreadPool(r -> {
    Thread t = new ShieldThread(r);
    t.setDaemon(true);
    return t;
  });

  private static final class ShieldThread extends Thread {
    ShieldThread(Runnable r) {
      super(r, "torpor-db");
    }
  }

  /** On a shield thread, the name of the thread whose work it runs (for {@link StatementCounter}). */
  private static final ThreadLocal<String> ON_BEHALF_OF = new ThreadLocal<>();

  private final DataSource ds;
  private final boolean shielded;
  /** Told of each history event once its transaction committed. */
  private volatile dev.torpor.scheduler.PlaneListener listener;
  /** The transaction the current thread runs, with what is to happen once it commits. */
  private static final ThreadLocal<Tx> CURRENT = new ThreadLocal<>();

  private record Tx(Sql sql, java.util.List<Runnable> afterCommit) {}

  void listener(dev.torpor.scheduler.PlaneListener l) {
    this.listener = l;
  }

  /** Tells the listener of a lease renewal (made on another {@code Sql}: this is the plane's). */
  void leaseRenewal(boolean ok) {
    dev.torpor.scheduler.PlaneListener l = listener;
    if (l != null) {
      l.leaseRenewal(ok);
    }
  }

  /** Tells the listener of the current transaction's {@code Sql}, if it commits, that history event {@code type} was recorded. */
  static void committedHistory(String type) {
    Tx tx = CURRENT.get();
    if (tx != null && tx.sql().listener != null) {
      dev.torpor.scheduler.PlaneListener l = tx.sql().listener;
      tx.afterCommit().add(() -> l.history(type));
    }
  }

  /** The name of the thread whose work the current thread runs: itself, or a shield thread's caller. */
  static String workingFor() {
    String caller = ON_BEHALF_OF.get();
    return caller != null ? caller : Thread.currentThread().getName();
  }

  Sql(DataSource ds) {
    this(ds, false);
  }

  /**
   * @param shielded whether each unit of work runs on a thread nobody interrupts, its caller
   *     waiting for it even when interrupted (and interrupted again after): for H2, which does not
   *     survive an interrupt inside a commit. A thread-hop per transaction.
   */
  Sql(DataSource ds, boolean shielded) {
    this.ds = ds;
    this.shielded = shielded;
  }

  <T> T tx(Work<T> work) {
    return tx(work, OUTAGE_WINDOW);
  }

  /** As {@link #tx(Work)}, but gives up on a lost database at once: for work on a clock, such as a lease. */
  <T> T txOnce(Work<T> work) {
    return tx(work, Duration.ZERO);
  }

  private <T> T tx(Work<T> work, Duration outageWindow) {
    return shielded ? shielded(() -> run(work, outageWindow)) : run(work, outageWindow);
  }

  /**
   * Runs {@code work} (which uses the embedded database) on a thread nobody interrupts, and waits
   * for it even when the caller is interrupted (who is interrupted again after): Quartz's calls
   * from the plane's threads need this as the plane's own transactions do.
   */
  static <T> T shielded(java.util.concurrent.Callable<T> work) {
    if (Thread.currentThread() instanceof ShieldThread) {
      return callUnchecked(work);
    }
    String caller = workingFor();
    Future<T> done = SHIELD.submit(() -> {
      ON_BEHALF_OF.set(caller);
      try {
        return callUnchecked(work);
      } finally {
        ON_BEHALF_OF.remove();
      }
    });
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return done.get();
        } catch (InterruptedException e) {
          interrupted = true; // the work finishes regardless; the caller hears of the interrupt after
        } catch (ExecutionException e) {
          if (e.getCause() instanceof RuntimeException r) {
            throw r;
          }
          if (e.getCause() instanceof Error err) {
            throw err;
          }
          throw new TorporException("registry database error: " + e.getCause(), e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Calls {@code work}, passing its unchecked exceptions on and wrapping the others. */
  static <T> T callUnchecked(java.util.concurrent.Callable<T> work) {
    try {
      return work.call();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new TorporException("registry database error: " + e.getMessage(), e);
    }
  }

  private <T> T run(Work<T> work, Duration outageWindow) {
    SQLException last = null;
    long deadline = System.nanoTime() + outageWindow.toNanos();
    long backoffMillis = 100;
    int conflicts = 0;
    while (true) {
      try (Connection c = ds.getConnection()) {
        c.setAutoCommit(false);
        Tx tx = new Tx(this, new java.util.ArrayList<>());
        Tx outer = CURRENT.get();
        CURRENT.set(tx);
        try {
          T result = work.run(c);
          c.commit();
          CURRENT.set(outer); // what the listener does runs outside this transaction
          for (Runnable r : tx.afterCommit()) {
            try {
              r.run();
            } catch (RuntimeException e) {
              System.err.println("torpor: a plane listener failed: " + e);
            }
          }
          return result;
        } catch (SQLException | RuntimeException e) {
          try {
            c.rollback();
          } catch (SQLException lost) {
            e.addSuppressed(lost); // the connection died with the work: the work's own error says why
          }
          throw e;
        } finally {
          CURRENT.set(outer);
        }
      } catch (SQLException e) {
        last = e;
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        // 40001 serialization failure, 40P01 deadlock (PostgreSQL), HYT00 lock timeout (H2)
        if ((state.equals("40001") || state.equals("40P01") || state.equals("HYT00")) && ++conflicts < 5) {
          continue;
        }
        if (!isOutage(e) || System.nanoTime() > deadline) {
          break;
        }
        try {
          Thread.sleep(backoffMillis);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          break;
        }
        backoffMillis = Math.min(backoffMillis * 2, 2_000);
      }
    }
    throw new TorporException("registry database error: " + last.getMessage(), last);
  }

  /** Whether a unit of work failed on a unique constraint (SQLState 23505, on H2 and PostgreSQL alike). */
  static boolean isUniqueViolation(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && "23505".equals(s.getSQLState())) {
        return true;
      }
    }
    return false;
  }

  /** Whether the database went away (connection refused or lost, server shutting down), as opposed to refusing the work. */
  static boolean isOutage(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientConnectionException || t instanceof SQLRecoverableException) {
        return true;
      }
      if (t instanceof SQLException && "Connection is closed".equals(t.getMessage())) {
        return true; // HikariCP's answer on a connection the server dropped: no SQLState
      }
      if (t instanceof SQLException s && s.getSQLState() != null
          && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P") || s.getSQLState().equals("25P03"))) {
        return true; // connection exceptions; admin, crash or startup shutdown; idle-in-transaction timeout (PostgreSQL)
      }
    }
    return false;
  }

  /**
   * Stops an executor whose tasks use the database without interrupting them: H2 closes the whole
   * database when a thread is interrupted inside its file I/O (after which Quartz's shutdown waits
   * for ever). Interrupts only what is still running after {@code patience}.
   */
  static void stopGently(java.util.concurrent.ExecutorService executor, Duration patience) {
    executor.shutdown();
    try {
      if (!executor.awaitTermination(patience.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      executor.shutdownNow();
    }
  }
}
