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

  private final Scheduler quartz;

  Timers(Database db, String instanceName, int threads, boolean clustered, Handler handler) {
    String dsName = "torpor-" + instanceName;
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
    p.setProperty("org.quartz.threadPool.threadCount", Integer.toString(threads));
    p.setProperty("org.quartz.threadPool.threadNamePrefix", "torpor-quartz");
    p.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
    p.setProperty("org.quartz.jobStore.driverDelegateClass", db.quartzDelegate());
    p.setProperty("org.quartz.jobStore.dataSource", dsName);
    p.setProperty("org.quartz.jobStore.tablePrefix", "QRTZ_");
    p.setProperty("org.quartz.jobStore.misfireThreshold", "1000");
    p.setProperty("org.quartz.jobStore.isClustered", Boolean.toString(clustered));
    p.setProperty("org.quartz.jobStore.acquireTriggersWithinLock", "true");
    p.setProperty("org.quartz.scheduler.batchTriggerAcquisitionMaxCount", Integer.toString(threads));
    p.setProperty("org.quartz.scheduler.idleWaitTime", "1000");
    try {
      quartz = new StdSchedulerFactory(p).getScheduler();
      JobFactory factory = (bundle, scheduler) -> {
        JobDetail d = bundle.getJobDetail();
        return d.getJobClass() == WakeJob.class ? new WakeJob(handler) : new DispatchJob(handler);
      };
      quartz.setJobFactory(factory);
    } catch (SchedulerException e) {
      throw new TorporException("cannot create the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  void start() {
    try {
      quartz.start();
    } catch (SchedulerException e) {
      throw new TorporException("cannot start the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  void dispatch(String workflowId, Instant at) {
    schedule(JobBuilder.newJob(DispatchJob.class), workflowId, "dispatch", 0, "START", at);
  }

  void wake(String workflowId, long seq, String reason, Instant at) {
    schedule(JobBuilder.newJob(WakeJob.class), workflowId, "wake", seq, reason, at);
  }

  /** Removes every pending job of a workflow. */
  void cancelAll(String workflowId) {
    try {
      Set<JobKey> keys = quartz.getJobKeys(GroupMatcher.jobGroupEquals(group(workflowId)));
      quartz.deleteJobs(new java.util.ArrayList<>(keys));
    } catch (SchedulerException e) {
      throw new TorporException("cannot remove the timers of " + workflowId + ": " + e.getMessage(), e);
    }
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
    try {
      quartz.scheduleJob(detail, trigger);
    } catch (SchedulerException e) {
      throw new TorporException("cannot schedule " + kind + " of " + workflowId + ": " + e.getMessage(), e);
    }
  }

  private static String group(String workflowId) {
    return "w:" + workflowId;
  }

  @Override
  public void close() {
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
