package dev.torpor.scheduler.internal;

import dev.torpor.TorporException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Date;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobExecutionContext;
import org.quartz.JobKey;
import org.quartz.JobPersistenceException;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.SimpleScheduleBuilder;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.impl.StdSchedulerFactory;
import org.quartz.impl.matchers.GroupMatcher;
import org.quartz.spi.JobFactory;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;

/**
 * Every timer and dispatch, as Quartz jobs in its JDBC job store on the registry's database,
 * so they survive a crash; one that fell due while the server was down fires at start. Jobs
 * carry the workflow id, the image seq and the reason, and are fenced by the registry: a job
 * for a stale seq does nothing.
 */
final class Timers implements AutoCloseable {
  /** What a fired job does. */
  interface Handler {
    void dispatch(String workflowId);

    void wake(String workflowId, long seq, String reason);
  }

  static final java.time.Duration MISFIRE_THRESHOLD = java.time.Duration.ofMinutes(10);

  private final Scheduler quartz;
  /** The name under which {@link SlotAwareThreadPool} finds the worker's slots. */
  private final String gate;
  private volatile boolean started;
  /** Whether Quartz's calls from the plane's threads run shielded from interrupts (an embedded H2; see {@link Sql#shielded}). */
  private final boolean shield;

  /**
   * @param nodeId this process's name among the nodes: names the connection provider, and the
   *     scheduler when not clustered (clustered nodes share one scheduler name, as Quartz requires)
   */
  Timers(Database db, String nodeId, int threads, boolean clustered, Handler handler,
      java.util.function.Supplier<dev.torpor.scheduler.WorkerGateway> slots) {
    String dsName = "torpor-" + nodeId;
    this.gate = dsName;
    this.shield = !db.isPostgres();
    // Quartz keeps a scheduler's jobs under its name: a single server's must be the same at every
    // start (its jobs from before a restart fire after it), and differ between databases, since
    // Quartz shares a scheduler by name within one JVM.
    String instanceName = clustered ? "torpor-cluster" : "torpor-" + db.identity();
    DBConnectionManager.getInstance().addConnectionProvider(dsName, new ConnectionProvider() {
      @Override
      public Connection getConnection() throws SQLException {
        return db.dataSource().getConnection();
      }

      @Override
      public void shutdown() {}

      @Override
      public void initialize() {}
    });
    Properties p = new Properties();
    p.setProperty("org.quartz.scheduler.instanceName", instanceName);
    p.setProperty("org.quartz.scheduler.instanceId", "AUTO");
    p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
    p.setProperty("org.quartz.threadPool.class", SlotAwareThreadPool.class.getName());
    p.setProperty("org.quartz.threadPool.gate", gate);
    SlotAwareThreadPool.register(gate, slots);
    p.setProperty("org.quartz.threadPool.threadCount", Integer.toString(threads));
    p.setProperty("org.quartz.threadPool.threadNamePrefix", "torpor-quartz");
    p.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
    p.setProperty("org.quartz.jobStore.driverDelegateClass", db.quartzDelegate());
    p.setProperty("org.quartz.jobStore.dataSource", dsName);
    p.setProperty("org.quartz.jobStore.tablePrefix", "QRTZ_");
    // Quartz takes a due trigger only while it is less than this late; later ones wait for its misfire
    // handler, which sets them due "now". With a threshold of a second, a backlog of wakes (all slots
    // busy) was rewritten every second and lost its order. Ten minutes: a backlog is taken as it fell
    // due, earliest first; a timer that fell due while the server was down still fires at start.
    p.setProperty("org.quartz.jobStore.misfireThreshold", Long.toString(MISFIRE_THRESHOLD.toMillis()));
    p.setProperty("org.quartz.jobStore.isClustered", Boolean.toString(clustered));
    p.setProperty("org.quartz.jobStore.acquireTriggersWithinLock", "true");
    p.setProperty("org.quartz.scheduler.batchTriggerAcquisitionMaxCount", Integer.toString(threads));
    // A clustered node learns of a trigger another node scheduled only when it next looks: up to this
    // long after (a signal sent through the API server of a cluster waits for it).
    p.setProperty("org.quartz.scheduler.idleWaitTime", "1000"); // Quartz refuses less
    p.setProperty("org.quartz.jobStore.clusterCheckinInterval", "2000");
    // After a database outage (a PostgreSQL restart), look again every second, not every 15.
    p.setProperty("org.quartz.scheduler.dbFailureRetryInterval", "1000");
    p.setProperty("org.quartz.jobStore.dbRetryInterval", "1000");
    if (!clustered) {
      dropOtherSchedulers(db, instanceName);
    }
    try {
      quartz = new StdSchedulerFactory(p).getScheduler();
      JobFactory factory = (bundle, scheduler) -> {
        JobDetail d = bundle.getJobDetail();
        return d.getJobClass() == WakeJob.class ? new WakeJob(handler) : new DispatchJob(handler);
      };
      quartz.setJobFactory(factory);
    } catch (SchedulerException e) {
      SlotAwareThreadPool.unregister(gate);
      throw new TorporException("cannot create the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  /**
   * Deletes the jobs of schedulers other than this single server's own. Before 0.2 each start of
   * a server took a new scheduler name, so every restart left a copy of its jobs that never fired.
   */
  private static void dropOtherSchedulers(Database db, String keep) {
    String[] tables = {"QRTZ_FIRED_TRIGGERS", "QRTZ_SIMPLE_TRIGGERS", "QRTZ_CRON_TRIGGERS", "QRTZ_SIMPROP_TRIGGERS",
        "QRTZ_BLOB_TRIGGERS", "QRTZ_TRIGGERS", "QRTZ_JOB_DETAILS", "QRTZ_CALENDARS", "QRTZ_PAUSED_TRIGGER_GRPS",
        "QRTZ_SCHEDULER_STATE", "QRTZ_LOCKS"};
    try (Connection c = db.dataSource().getConnection()) {
      c.setAutoCommit(false);
      for (String table : tables) {
        try (java.sql.PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE SCHED_NAME <> ?")) {
          ps.setString(1, keep);
          ps.executeUpdate();
        }
      }
      c.commit();
    } catch (SQLException e) {
      throw new TorporException("cannot clear the timers of earlier server runs: " + e.getMessage(), e);
    }
  }

  void start() {
    try {
      started = true;
      quartz.start();
    } catch (SchedulerException e) {
      throw new TorporException("cannot start the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  /** Stops taking triggers (a worker at capacity): they wait in the job store for another node. */
  void pause() {
    try {
      if (quartz.isStarted() && !quartz.isInStandbyMode()) {
        quartz.standby();
      }
    } catch (SchedulerException e) {
      throw new TorporException("cannot pause the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  /** Takes triggers again after {@link #pause}. */
  void resume() {
    try {
      if (started && quartz.isInStandbyMode()) {
        quartz.start();
      }
    } catch (SchedulerException e) {
      throw new TorporException("cannot resume the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  void dispatch(String workflowId, Instant at) {
    onStore(() -> schedule(JobBuilder.newJob(DispatchJob.class), workflowId, "dispatch", 0, "START", at));
  }

  void wake(String workflowId, long seq, String reason, Instant at) {
    onStore(() -> schedule(JobBuilder.newJob(WakeJob.class), workflowId, "wake", seq, reason, at));
  }

  /** Runs a call of Quartz's that uses its job store, shielded when the store is the embedded H2. */
  private <T> T onStore(java.util.concurrent.Callable<T> call) {
    return shield ? Sql.shielded(call) : Sql.callUnchecked(call);
  }

  private void onStore(Runnable call) {
    onStore(() -> {
      call.run();
      return null;
    });
  }

  /** Whether a workflow has a job waiting to fire (or firing). */
  boolean hasJobs(String workflowId) {
    return !jobKeys(workflowId).isEmpty();
  }

  /** How many jobs a workflow has waiting to fire (or firing). */
  int jobCount(String workflowId) {
    return jobKeys(workflowId).size();
  }

  private Set<JobKey> jobKeys(String workflowId) {
    return onStore(() -> {
      try {
        return quartz.getJobKeys(GroupMatcher.jobGroupEquals(group(workflowId)));
      } catch (SchedulerException e) {
        throw new TorporException("cannot list the timers of " + workflowId + ": " + e.getMessage(), e);
      }
    });
  }

  /** Removes every pending job of a workflow. */
  void cancelAll(String workflowId) {
    onStore(() -> {
      try {
        return quartz.deleteJobs(new java.util.ArrayList<>(quartz.getJobKeys(GroupMatcher.jobGroupEquals(group(workflowId)))));
      } catch (SchedulerException e) {
        throw new TorporException("cannot remove the timers of " + workflowId + ": " + e.getMessage(), e);
      }
    });
  }

  private void schedule(JobBuilder job, String workflowId, String kind, long seq, String reason, Instant at) {
    String name = kind + "-" + seq + "-" + reason + "-" + UUID.randomUUID();
    JobDetail detail = job.withIdentity(name, group(workflowId))
        .usingJobData("workflow", workflowId)
        .usingJobData("seq", seq)
        .usingJobData("reason", reason)
        .requestRecovery(true)
        .build();
    Trigger trigger = TriggerBuilder.newTrigger()
        .withIdentity(name, group(workflowId))
        .startAt(Date.from(at))
        .withSchedule(SimpleScheduleBuilder.simpleSchedule().withMisfireHandlingInstructionFireNow())
        .build();
    long deadline = System.nanoTime() + Sql.OUTAGE_WINDOW.toNanos();
    long backoffMillis = 100;
    while (true) {
      try {
        quartz.scheduleJob(detail, trigger);
        return;
      } catch (JobPersistenceException e) {
        // The job store's database went away (a PostgreSQL restart): wait for it, as Sql does.
        if (System.nanoTime() > deadline) {
          throw new TorporException("cannot schedule " + kind + " of " + workflowId + ": " + e.getMessage(), e);
        }
        try {
          Thread.sleep(backoffMillis);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new TorporException("interrupted while scheduling " + kind + " of " + workflowId, ie);
        }
        backoffMillis = Math.min(backoffMillis * 2, 2_000);
      } catch (SchedulerException e) {
        throw new TorporException("cannot schedule " + kind + " of " + workflowId + ": " + e.getMessage(), e);
      }
    }
  }

  private static String group(String workflowId) {
    return "w:" + workflowId;
  }

  @Override
  public void close() {
    SlotAwareThreadPool.unregister(gate);
    try {
      quartz.shutdown(true);
    } catch (SchedulerException e) {
      System.err.println("torpor: Quartz shutdown failed: " + e);
    }
  }

  /** Starts a pending workflow. */
  static final class DispatchJob implements Job {
    private final Handler handler;

    DispatchJob(Handler handler) {
      this.handler = handler;
    }

    @Override
    public void execute(JobExecutionContext context) {
      handler.dispatch(context.getMergedJobDataMap().getString("workflow"));
    }
  }

  /** Wakes a suspended workflow. */
  static final class WakeJob implements Job {
    private final Handler handler;

    WakeJob(Handler handler) {
      this.handler = handler;
    }

    @Override
    public void execute(JobExecutionContext context) {
      var data = context.getMergedJobDataMap();
      handler.wake(data.getString("workflow"), data.getLong("seq"), data.getString("reason"));
    }
  }
}
