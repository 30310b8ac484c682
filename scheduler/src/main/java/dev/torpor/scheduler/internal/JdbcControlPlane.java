package dev.torpor.scheduler.internal;

import dev.torpor.scheduler.SegmentEvent;
import dev.torpor.SignalName;
import dev.torpor.TorporException;
import dev.torpor.WakeReason;
import dev.torpor.PendingWait;
import dev.torpor.Signal;
import dev.torpor.WaitKind;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.ConflictException;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.IdempotencyKey;
import dev.torpor.scheduler.ImageLedger;
import dev.torpor.scheduler.SignalReceipt;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.SubmitResult;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.WorkflowState;
import dev.torpor.scheduler.WorkflowView;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.scheduler.ClusterOptions;
import dev.torpor.storage.ImageStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * The control plane on a JDBC registry (H2 or PostgreSQL) with Quartz for every timer and
 * dispatch: the user operations and the worker's reports, composed from the parts a workflow's
 * life passes through. {@link Registry} holds each workflow's row and the one compare-and-set
 * every change goes through (so a stale or duplicate wake never restores an old image, one image
 * never runs twice, and a worker that lost a workflow changes nothing); {@link Mailbox} the
 * signals, claimed by the transaction that moves the workflow to RUNNING; {@link History} what
 * happened; {@link Timers} the Quartz jobs, with admission (slots, fencing) here; {@link Recovery}
 * what a crash left and the sweep; {@link AppLibrary} the application jars.
 */
public final class JdbcControlPlane implements ControlPlane, WorkerCallbacks, ImageLedger, AutoCloseable {
  private static final Pattern MAIN_CLASS = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final int MAX_WAKE_FAILURES = 5;
  private static final String RECOVER = Recovery.RECOVER;
  /** The largest piece of a cluster's log kept in one row. */
  private static final int LOG_CHUNK = 1 << 20;
  /** How long past due a dispatch or wake may be, with no Quartz job for it, before the sweep re-arms it. */
  private static final Duration SWEEP_GRACE = Duration.ofSeconds(20);
  private static final String COLUMNS = "id, state, seq, main_class, args, app_sha256, wait_kind, wait_signal, wake_at,"
      + " in_memory, stack, image_bytes, packed_bytes, exit_code, error, created_at, updated_at, waits";

  private final ControlPlaneConfig config;
  private final Database db;
  private final Sql sql;
  private final Timers timers;
  private final Recovery recovery;
  private final boolean clustered;
  private volatile WorkerGateway gateway;
  /** Who this node is as an owner of running workflows: the worker's lease id in a cluster. */
  private volatile String nodeId;
  private volatile Leases leases;
  private final AppLibrary apps;
  /** Dispatches and wakes hold it shared; fencing takes it alone, to let those in flight finish first. */
  private final java.util.concurrent.locks.ReentrantReadWriteLock admission =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  private volatile Duration sweepGrace = SWEEP_GRACE;
  /** A single server's sweep (a cluster's runs with the leases). */
  private final java.util.concurrent.ScheduledExecutorService sweeper =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "torpor-sweep");
        t.setDaemon(true);
        return t;
      });

  /**
   * @param nodeId this process's name among the nodes sharing the database
   * @param clustered whether several nodes share the database (Quartz clustered, worker leases)
   */
  public JdbcControlPlane(ControlPlaneConfig config, String nodeId, boolean clustered) {
    this.config = config;
    this.clustered = clustered;
    this.nodeId = nodeId;
    this.db = new Database(config);
    this.sql = new Sql(db.dataSource(), !db.isPostgres());
    this.timers = new Timers(db, nodeId, config.quartzThreads(), clustered, new Timers.Handler() {
      @Override
      public void dispatch(String workflowId) {
        fireDispatch(workflowId);
      }

      @Override
      public void wake(String workflowId, long seq, String reason) {
        fireWake(workflowId, seq, reason);
      }
    }, () -> gateway);
    this.apps = new AppLibrary(config.dataDir().resolve("apps"));
    this.recovery = new Recovery(sql, timers, clustered, () -> gateway, () -> sweepGrace);
  }

  /**
   * Recovers what a crash left behind and starts firing timers. Workflows that were RUNNING
   * (their JVMs are gone: the caller killed any orphan first) resume from their last image, or
   * start again if they had none.
   */
  public void start(WorkerGateway gateway) {
    this.gateway = gateway;
    recovery.recover();
    timers.start();
    long every = Math.max(1, sweepGrace.toMillis() / 4);
    sweeper.scheduleWithFixedDelay(() -> {
      try {
        recovery.sweep();
      } catch (RuntimeException e) {
        System.err.println("torpor: the sweep for lost timers failed, tried again in " + every + " ms: " + e);
      }
    }, every, every, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /**
   * For tests: how long past due a workflow may wait with no job before the sweep re-arms it
   * (20 s), set before {@link #start}. The sweep runs every quarter of it.
   */
  void sweepGrace(Duration grace) {
    this.sweepGrace = grace;
  }

  /** For tests: the scheduler of every timer and dispatch. */
  Timers timers() {
    return timers;
  }

  /**
   * Also keeps every uploaded application jar in {@code store}, from which the workers of a
   * cluster fetch it.
   */
  public void publishAppsTo(ImageStore store) {
    apps.publishTo(store);
  }

  /**
   * Joins a cluster and starts working in it. A node with a {@code gateway} is a worker: it takes
   * a lease under {@code member}'s name, fires timers and dispatches (Quartz, clustered) while it
   * has capacity, and recovers the workflows of workers whose leases expired. A node without one
   * (the API server in front of the workers) fires nothing; it watches the leases too.
   * Nothing is recovered at start: what ran elsewhere is left to its owner's lease.
   */
  public void startClustered(Optional<WorkerGateway> gateway, Optional<Leases.Member> member, ClusterOptions options) {
    if (!clustered) {
      throw new IllegalStateException("this control plane was not opened for a cluster");
    }
    if (gateway.isPresent() != member.isPresent()) {
      throw new IllegalArgumentException("a worker node needs both a gateway and a membership");
    }
    this.gateway = gateway.orElse(null);
    Leases l = new Leases(sql, new Sql(db.leaseDataSource()), options, new Leases.Plane() {
      @Override
      public int recoverOrphans() {
        return recovery.recoverOrphans();
      }

      @Override
      public void killCancelled(String workerId) {
        recovery.killCancelled(workerId);
      }

      @Override
      public void rearmUnrestorable() {
        recovery.rearmUnrestorable();
      }

      @Override
      public void ownerId(String workerId) {
        nodeId = workerId;
      }

      @Override
      public int sweep() {
        return recovery.sweep();
      }

      @Override
      public void drain() {
        drainAdmissions();
      }
    }, member);
    this.leases = l;
    l.start();
    if (gateway.isPresent()) {
      timers.start();
    }
  }

  /** The worker's id in the cluster (its lease), or this node's name. */
  public String nodeId() {
    return nodeId;
  }

  /** A worker is full (stop taking triggers: they wait in Quartz for another node) or has room again. */
  public void capacity(boolean available) {
    if (available) {
      timers.resume();
    } else {
      timers.pause();
    }
  }

  private boolean fenced() {
    Leases l = leases;
    return l != null && l.fenced();
  }

  // ----- user operations -----

  @Override
  public String storeApp(InputStream jar) throws IOException {
    return apps.store(jar);
  }

  /** Where the application jar with this SHA-256 lives: the same path for every run and restore. */
  public Path appJar(String sha256) {
    return apps.jar(sha256);
  }

  @Override
  public SubmitResult submit(SubmitRequest r) {
    String id = r.id() != null ? r.id().value() : newId();
    if (!SHA256.matcher(r.appSha256()).matches() || !Files.exists(appJar(r.appSha256()))) {
      throw new IllegalArgumentException("unknown application " + r.appSha256() + ": upload the jar first (POST /v1/apps)");
    }
    if (!MAIN_CLASS.matcher(r.mainClass()).matches()) {
      throw new IllegalArgumentException("'" + r.mainClass() + "' is not a Java class name");
    }
    // The environment counts only when set, so that requests from before it existed keep their hash.
    List<Object> request = new ArrayList<>(List.of(r.appSha256(), r.mainClass(), r.args(), r.javaOptions()));
    if (!r.env().isEmpty()) {
      request.add(r.env());
    }
    String hash = HexFormat.of().formatHex(sha256().digest(Json.write(request).getBytes(StandardCharsets.UTF_8)));
    boolean created;
    try {
      created = sql.tx(c -> insertWorkflow(c, id, hash, r));
    } catch (TorporException e) {
      if (!Sql.isUniqueViolation(e)) {
        throw e;
      }
      // The same id submitted at the same moment by another caller, whose insert won: compared again.
      created = sql.tx(c -> insertWorkflow(c, id, hash, r));
    }
    if (created) {
      CrashPoint.reach(CrashPoint.SUBMIT_COMMITTED);
      afterCommit("scheduling the start of " + id, () -> timers.dispatch(id, Instant.now()));
    }
    return new SubmitResult(id, created);
  }

  /** Inserts a submitted workflow unless it exists with the same request (false); a conflict if with another. */
  private boolean insertWorkflow(Connection c, String id, String hash, SubmitRequest r) throws SQLException {
    try (PreparedStatement q = c.prepareStatement("SELECT request_hash, main_class FROM torpor_workflow WHERE id = ?")) {
      q.setString(1, id);
      try (ResultSet rs = q.executeQuery()) {
        if (rs.next()) {
          if (rs.getString(1).equals(hash)) {
            return false;
          }
          throw new ConflictException("workflow " + id + " already exists with a different request (main class "
              + rs.getString(2) + "): submit under another id");
        }
      }
    }
    long now = System.currentTimeMillis();
    try (PreparedStatement ins = c.prepareStatement("INSERT INTO torpor_workflow (id, state, seq, request_hash,"
        + " app_sha256, main_class, args, java_options, created_at, updated_at, env) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ins.setString(1, id);
      ins.setString(2, WorkflowState.PENDING.name());
      ins.setString(3, hash);
      ins.setString(4, r.appSha256());
      ins.setString(5, r.mainClass());
      ins.setString(6, Json.write(r.args()));
      ins.setString(7, Json.write(r.javaOptions()));
      ins.setLong(8, now);
      ins.setLong(9, now);
      ins.setString(10, Json.write(r.env()));
      ins.executeUpdate();
    }
    History.record(c, id, "SUBMITTED", 0, Map.of("main", r.mainClass(), "app", r.appSha256()));
    return true;
  }

  @Override
  public SignalReceipt signal(WorkflowId id, SignalName signal, byte[] payload, Optional<String> idempotencyKey) {
    String workflowId = id.value();
    String name = signal.value();
    if (payload.length > MAX_SIGNAL_PAYLOAD) {
      throw new IllegalArgumentException("signal payload of " + payload.length + " bytes is over the limit of "
          + MAX_SIGNAL_PAYLOAD + " bytes (1 MiB): keep large data elsewhere and send a reference");
    }
    String key = idempotencyKey.map(IdempotencyKey::check).orElse(null);
    // Sql.tx runs this again when a commit's acknowledgement was lost: under a key, the second
    // run finds the first one's row and stores nothing.
    StoredSignal stored = sql.tx(c -> {
      WorkflowRow w = Registry.lock(c, workflowId); // every signal to this workflow waits here, so one key is looked up by one at a time
      if (key != null) {
        SignalReceipt earlier = signalUnderKey(c, workflowId, key, name, payload);
        if (earlier != null) {
          return new StoredSignal(earlier, Optional.empty()); // before the state check: a retry after the end answers the same
        }
      }
      if (w.state.isFinal()) {
        throw new ConflictException("workflow " + workflowId + " has finished (" + w.state
            + "): signals are accepted only until it finishes");
      }
      long receivedAt = System.currentTimeMillis();
      long n;
      try (PreparedStatement ins = c.prepareStatement("INSERT INTO torpor_signal (workflow_id, name, payload, received_at,"
          + " idempotency_key) VALUES (?, ?, ?, ?, ?)", new String[] {"n"})) {
        ins.setString(1, workflowId);
        ins.setString(2, name);
        ins.setBytes(3, payload);
        ins.setLong(4, receivedAt);
        ins.setString(5, key);
        ins.executeUpdate();
        try (ResultSet keys = ins.getGeneratedKeys()) {
          keys.next();
          n = keys.getLong(1);
        }
      }
      Map<String, Object> details = new LinkedHashMap<>(Map.of("signal", name, "bytes", payload.length, "n", n));
      if (key != null) {
        details.put("idempotencyKey", key);
      }
      History.record(c, workflowId, "SIGNAL_RECEIVED", w.seq, details);
      boolean awaited = w.state == WorkflowState.SUSPENDED && PendingWait.anyAccepts(w.waits, name);
      return new StoredSignal(new SignalReceipt(n, Instant.ofEpochMilli(receivedAt), false),
          awaited ? Optional.of(w.seq) : Optional.empty());
    });
    CrashPoint.reach(CrashPoint.SIGNAL_COMMITTED);
    stored.wakeSeq().ifPresent(seq -> afterCommit("waking " + workflowId + " for signal '" + name + "'",
        () -> timers.wake(workflowId, seq, WakeReason.SIGNAL.name(), Instant.now())));
    return stored.receipt();
  }

  /** A signal's receipt, and the seq to wake when the workflow waited for it. */
  private record StoredSignal(SignalReceipt receipt, Optional<Long> wakeSeq) {}

  /**
   * The receipt of the signal stored earlier under {@code key}, marked duplicate; null if none.
   *
   * @throws ConflictException if that signal had another name or payload
   */
  private static SignalReceipt signalUnderKey(Connection c, String workflowId, String key, String name, byte[] payload)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT n, name, payload, received_at FROM torpor_signal"
        + " WHERE workflow_id = ? AND idempotency_key = ?")) {
      ps.setString(1, workflowId);
      ps.setString(2, key);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        String earlierName = rs.getString(2);
        byte[] earlierPayload = rs.getBytes(3);
        if (!earlierName.equals(name) || !java.util.Arrays.equals(earlierPayload, payload)) {
          throw new ConflictException("idempotency key '" + key + "' was already used for another signal to workflow "
              + workflowId + " ('" + earlierName + "', " + earlierPayload.length + " bytes, received at "
              + Instant.ofEpochMilli(rs.getLong(4)) + "): use a new key for a new signal, and the same key only to retry"
              + " the same one");
        }
        return new SignalReceipt(rs.getLong(1), Instant.ofEpochMilli(rs.getLong(4)), true);
      }
    }
  }

  /** Tells {@code l} of every history event this plane commits and of its worker's lease renewals (for metrics). */
  public void listen(dev.torpor.scheduler.PlaneListener l) {
    sql.listener(l);
  }

  @Override
  public Map<WorkflowState, Long> countByState() {
    return sql.txOnce(c -> {
      Map<WorkflowState, Long> out = new java.util.EnumMap<>(WorkflowState.class);
      try (PreparedStatement ps = c.prepareStatement("SELECT state, COUNT(*) FROM torpor_workflow GROUP BY state");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(WorkflowState.valueOf(rs.getString(1)), rs.getLong(2));
        }
      }
      return out;
    });
  }

  @Override
  public List<WorkflowView> list(Optional<WorkflowState> state, Optional<String> waitingOn, int limit) {
    StringBuilder q = new StringBuilder("SELECT " + COLUMNS + " FROM torpor_workflow WHERE 1 = 1");
    state.ifPresent(s -> q.append(" AND state = ?"));
    waitingOn.ifPresent(s -> q.append(" AND state = 'SUSPENDED' AND wait_kind = ?"));
    q.append(" ORDER BY created_at DESC, id LIMIT ?");
    String waitKind = waitingOn.map(s -> s.toUpperCase(java.util.Locale.ROOT)).orElse(null);
    if (waitKind != null && !waitKind.equals("TIMER") && !waitKind.equals("SIGNAL")) {
      throw new IllegalArgumentException("waiting-on must be 'timer' or 'signal', not '" + waitingOn.get() + "'");
    }
    return sql.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(q.toString())) {
        int i = 1;
        if (state.isPresent()) {
          ps.setString(i++, state.get().name());
        }
        if (waitKind != null) {
          ps.setString(i++, waitKind);
        }
        ps.setInt(i, Math.max(1, Math.min(limit, 100_000)));
        List<WorkflowView> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(withoutStacks(view(rs, 0)));
          }
        }
        return out;
      }
    });
  }

  @Override
  public WorkflowView status(WorkflowId id) {
    String workflowId = id.value();
    return sql.tx(c -> {
      int pending;
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT COUNT(*) FROM torpor_signal WHERE workflow_id = ? AND delivered_seq IS NULL")) {
        ps.setString(1, workflowId);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          pending = rs.getInt(1);
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM torpor_workflow WHERE id = ?")) {
        ps.setString(1, workflowId);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw Registry.notFound(workflowId);
          }
          return view(rs, pending);
        }
      }
    });
  }

  @Override
  public List<HistoryEvent> history(WorkflowId id) {
    status(id);
    String workflowId = id.value();
    return sql.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT n, at, type, seq, details FROM torpor_history WHERE workflow_id = ? ORDER BY n")) {
        ps.setString(1, workflowId);
        List<HistoryEvent> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new HistoryEvent(rs.getLong(1), workflowId, Instant.ofEpochMilli(rs.getLong(2)), rs.getString(3),
                rs.getLong(4), Json.map(rs.getString(5))));
          }
        }
        return out;
      }
    });
  }

  @Override
  public void cancel(WorkflowId id) {
    String workflowId = id.value();
    sql.tx(c -> {
      WorkflowRow w = Registry.lock(c, workflowId);
      if (w.state.isFinal()) {
        throw new ConflictException("workflow " + workflowId + " has already finished (" + w.state + ")");
      }
      Registry.apply(c, w, Registry.Change.to().state(WorkflowState.CANCELLED).error("cancelled by an operator"));
      History.record(c, workflowId, "CANCELLED", w.seq, Map.of("was", w.state.name()));
      return null;
    });
    timers.cancelAll(workflowId);
    WorkerGateway g = gateway;
    if (g != null) {
      g.kill(workflowId); // on this node; another worker that runs it kills it at its next lease renewal
    }
  }

  @Override
  public void wake(WorkflowId id) {
    String workflowId = id.value();
    long seq = sql.tx(c -> {
      WorkflowRow w = Registry.lock(c, workflowId);
      if (w.state != WorkflowState.SUSPENDED || w.waits.stream().noneMatch(x -> x.kind() == WaitKind.TIMER)) {
        String what = w.state == WorkflowState.SUSPENDED ? "waits for signal '" + w.waitSignal + "': send it instead" : "is " + w.state;
        throw new ConflictException("workflow " + workflowId + " is not waiting on a timer: it " + what);
      }
      return w.seq;
    });
    timers.wake(workflowId, seq, WakeReason.OPERATOR.name(), Instant.now());
  }

  @Override
  public LogChunk logs(WorkflowId id, long offset, int max) throws IOException {
    WorkflowView v = status(id);
    String workflowId = id.value();
    if (clustered) {
      return sharedLogs(workflowId, offset, max, v.state().isFinal());
    }
    Path log = config.logsDir().resolve(workflowId + ".log");
    if (!Files.exists(log)) {
      return new LogChunk(offset, new byte[0], v.state().isFinal());
    }
    try (SeekableByteChannel ch = Files.newByteChannel(log)) {
      long size = ch.size();
      if (offset >= size) {
        return new LogChunk(offset, new byte[0], v.state().isFinal());
      }
      ch.position(Math.max(0, offset));
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) Math.min(Math.max(1, max), size - offset));
      while (buf.hasRemaining() && ch.read(buf) > 0) {
        // read until the buffer is full or the file ends
      }
      byte[] data = java.util.Arrays.copyOf(buf.array(), buf.position());
      // Finished only once the whole log has been read, so a follower sees every byte.
      return new LogChunk(offset, data, v.state().isFinal() && offset + data.length >= size);
    }
  }

  /** A cluster's logs, from the registry: what each ended segment printed, as its owner shipped it. */
  private LogChunk sharedLogs(String workflowId, long offset, int max, boolean finalState) {
    long from = Math.max(0, offset);
    int limit = Math.max(1, Math.min(max, 16 << 20));
    return sql.tx(c -> {
      long total;
      try (PreparedStatement ps = c.prepareStatement("SELECT log_bytes FROM torpor_workflow WHERE id = ?")) {
        ps.setString(1, workflowId);
        try (ResultSet rs = ps.executeQuery()) {
          total = rs.next() ? rs.getLong(1) : 0;
        }
      }
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      try (PreparedStatement ps = c.prepareStatement("SELECT start_offset, data FROM torpor_log WHERE workflow_id = ?"
          + " AND start_offset + length > ? AND start_offset < ? ORDER BY start_offset")) {
        ps.setString(1, workflowId);
        ps.setLong(2, from);
        ps.setLong(3, from + limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next() && out.size() < limit) {
            long start = rs.getLong(1);
            byte[] data = rs.getBytes(2);
            int skip = (int) Math.max(0, from + out.size() - start);
            out.write(data, skip, Math.min(data.length - skip, limit - out.size()));
          }
        }
      }
      byte[] data = out.toByteArray();
      return new LogChunk(from, data, finalState && from + data.length >= total);
    });
  }

  @Override
  public void output(String workflowId, String segment, byte[] bytes) {
    if (segment == null || segment.isEmpty() || segment.length() > 200 || !segment.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f)) {
      throw new IllegalArgumentException("a log segment's name must be 1 to 200 printable ASCII characters: '" + segment + "'");
    }
    if (!clustered || bytes.length == 0) {
      return; // a single server serves its own log files
    }
    sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || !owned(w)) {
        return null; // printed by a segment whose lease another worker holds now: it runs again there
      }
      // The row lock orders every ship of this workflow's output. A segment found here was stored
      // by an earlier ship (or an earlier run of this transaction whose commit was acknowledged
      // late): only what it printed since, if anything, is added, and only while it is the last.
      long at = logBytes(c, workflowId);
      long[] stored = storedSegment(c, workflowId, segment);
      int from;
      if (stored != null) {
        boolean last = stored[0] + stored[1] == at;
        if (!last || bytes.length <= stored[1]) {
          return null;
        }
        from = (int) stored[1];
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE torpor_log_segment SET length = ? WHERE workflow_id = ? AND segment = ?")) {
          ps.setLong(1, bytes.length);
          ps.setString(2, workflowId);
          ps.setString(3, segment);
          ps.executeUpdate();
        }
      } else {
        from = 0;
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO torpor_log_segment (workflow_id, segment, seg_no,"
            + " base_offset, length, shipped_at) VALUES (?, ?,"
            + " (SELECT COUNT(*) FROM torpor_log_segment WHERE workflow_id = ?), ?, ?, ?)")) {
          ps.setString(1, workflowId);
          ps.setString(2, segment);
          ps.setString(3, workflowId);
          ps.setLong(4, at);
          ps.setLong(5, bytes.length);
          ps.setLong(6, System.currentTimeMillis());
          ps.executeUpdate();
        }
      }
      // Chunks at the segment's base offset plus their offset within it: the log's total offsets,
      // in segment order, which is what readers page through.
      for (int i = from; i < bytes.length; i += LOG_CHUNK) {
        int n = Math.min(LOG_CHUNK, bytes.length - i);
        try (PreparedStatement ps = c.prepareStatement(
            "INSERT INTO torpor_log (workflow_id, start_offset, length, data) VALUES (?, ?, ?, ?)")) {
          ps.setString(1, workflowId);
          ps.setLong(2, at - from + i);
          ps.setInt(3, n);
          ps.setBytes(4, java.util.Arrays.copyOfRange(bytes, i, i + n));
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_workflow SET log_bytes = ? WHERE id = ?")) {
        ps.setLong(1, at - from + bytes.length);
        ps.setString(2, workflowId);
        ps.executeUpdate();
      }
      return null;
    });
  }

  private static long logBytes(Connection c, String workflowId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT log_bytes FROM torpor_workflow WHERE id = ?")) {
      ps.setString(1, workflowId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** {base offset, length} of a stored log segment, or null. */
  private static long[] storedSegment(Connection c, String workflowId, String segment) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT base_offset, length FROM torpor_log_segment WHERE workflow_id = ? AND segment = ?")) {
      ps.setString(1, workflowId);
      ps.setString(2, segment);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : null;
      }
    }
  }

  // ----- jobs -----

  void fireDispatch(String workflowId) {
    admission.readLock().lock();
    try {
      dispatch(workflowId);
    } finally {
      admission.readLock().unlock();
    }
  }

  void fireWake(String workflowId, long seq, String reason) {
    admission.readLock().lock();
    try {
      wakeNow(workflowId, seq, reason);
    } finally {
      admission.readLock().unlock();
    }
  }

  /**
   * Waits until every dispatch and wake this node has begun (claimed, and its JVM started or its
   * restore begun) is through; those begun later see the node fenced and hand the job back.
   */
  private void drainAdmissions() {
    admission.writeLock().lock();
    admission.writeLock().unlock();
  }

  private void dispatch(String workflowId) {
    WorkerGateway g = gateway;
    if (fenced() || !g.tryReserve()) {
      timers.dispatch(workflowId, Instant.now().plusMillis(250));
      return;
    }
    Optional<WorkflowRow> row = sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.PENDING) {
        return Optional.empty();
      }
      Registry.apply(c, w, Registry.Change.to().state(WorkflowState.RUNNING).owner(nodeId));
      History.record(c, workflowId, "STARTED", 0, clustered ? Map.of("worker", nodeId) : Map.of());
      return Optional.of(w);
    });
    if (row.isEmpty()) {
      g.release();
      return;
    }
    WorkflowRow w = row.get();
    CrashPoint.reach(CrashPoint.DISPATCH_COMMITTED);
    try {
      g.start(workflowId, w.appSha256, appJar(w.appSha256), w.mainClass, w.args, w.javaOptions, w.env);
    } catch (IOException | RuntimeException e) {
      g.release();
      finish(workflowId, WorkflowState.FAILED, null, "could not start: " + e.getMessage());
    }
  }

  /** What a wake's transaction decided. */
  private enum Admit { STALE, NO_SLOT, WAKE }

  private void wakeNow(String workflowId, long seq, String reason) {
    WorkerGateway g = gateway;
    if (fenced()) {
      timers.wake(workflowId, seq, reason, Instant.now().plusMillis(250));
      return;
    }
    // A workflow waiting in memory holds its JVM's slot already; any other wake needs one.
    boolean reserved = g.tryReserve();
    String me = nodeId;
    String[] app = new String[1];
    boolean[] inMemory = new boolean[1];
    Wakeup[] decided = new Wakeup[1];
    Admit admit = sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.seq != seq || w.state != (RECOVER.equals(reason) ? WorkflowState.RUNNING : WorkflowState.SUSPENDED)
          || (RECOVER.equals(reason) && w.owner != null) || w.unrestorable) {
        return Admit.STALE; // stale: the workflow moved on
      }
      if (w.inMemory && !me.equals(w.owner)) {
        // Its JVM waits in the memory of the worker that owns it: only that one can wake it.
        timers.wake(workflowId, seq, reason, handBack());
        return Admit.STALE;
      }
      if (!w.inMemory && !reserved) {
        return Admit.NO_SLOT;
      }
      if (clustered && declinedBy(c, workflowId, seq, workerName(me))) {
        if (takers(c, workflowId, seq) == 0) {
          reportUnrestorable(c, w);
        } else {
          // This worker cannot restore that image: leave the wake to another.
          timers.wake(workflowId, seq, reason, handBack());
        }
        return Admit.STALE;
      }
      app[0] = w.appSha256;
      inMemory[0] = w.inMemory;
      Wakeup d;
      if (RECOVER.equals(reason)) {
        d = Mailbox.recoveredWakeup(c, w);
        Registry.apply(c, w, Registry.Change.to().owner(me));
      } else {
        List<Mailbox.Claimed> claimed = Mailbox.claimFor(c, workflowId, w.waits, seq);
        if (!claimed.isEmpty()) {
          d = new Wakeup(WakeReason.SIGNAL, Mailbox.signals(claimed));
        } else if (WakeReason.SIGNAL.name().equals(reason)) {
          return Admit.STALE; // a duplicate: the signal was taken by an earlier wake
        } else {
          d = Wakeup.of(WakeReason.valueOf(reason));
        }
        Registry.apply(c, w, Registry.Change.to().state(WorkflowState.RUNNING).owner(me)
            .lastWake(d.reason().name(), Mailbox.rows(claimed)));
      }
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("reason", d.reason().name());
      if (!d.signals().isEmpty()) {
        h.put("signals", d.signals().stream().map(Signal::name).toList());
      }
      h.put("inMemory", w.inMemory);
      if (clustered) {
        h.put("worker", me);
      }
      History.record(c, workflowId, "WAKING", seq, h);
      decided[0] = d;
      return Admit.WAKE;
    });
    if (reserved && (admit != Admit.WAKE || inMemory[0])) {
      g.release();
    }
    if (admit == Admit.NO_SLOT) {
      timers.wake(workflowId, seq, reason, Instant.now().plusMillis(250));
      return;
    }
    if (admit != Admit.WAKE) {
      return;
    }
    CrashPoint.reach(CrashPoint.WAKE_CLAIMED);
    try {
      g.wake(workflowId, seq, app[0], appJar(app[0]), decided[0]);
    } catch (IOException | RuntimeException e) {
      if (!inMemory[0]) {
        g.release();
      }
      undeliverable(workflowId, seq, decided[0], e.getMessage());
    }
  }

  // ----- worker callbacks -----

  @Override
  public Optional<Wakeup> dueNow(String workflowId, long seq, List<PendingWait> waits) {
    return sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING || !owned(w)) {
        return Optional.<Wakeup>empty();
      }
      List<Mailbox.Claimed> claimed = Mailbox.claimFor(c, workflowId, waits, seq);
      if (!claimed.isEmpty()) {
        // Due before the dump began: the JVM carries on without freezing, and the history says so.
        // A later crash of this segment gives these signals back to the mailbox (Recovery).
        History.record(c, workflowId, "WAKING", seq, Map.of("reason", WakeReason.SIGNAL.name(),
            "signals", Mailbox.signals(claimed).stream().map(Signal::name).toList(), "inMemory", true, "dueOnArrival", true));
        return Optional.of(new Wakeup(WakeReason.SIGNAL, Mailbox.signals(claimed)));
      }
      Instant now = Instant.now();
      Optional<PendingWait> due = waits.stream().filter(x -> x.dueAt(now)).findFirst();
      if (due.isPresent()) {
        WakeReason reason = due.get().kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT : WakeReason.TIMER;
        History.record(c, workflowId, "WAKING", seq, Map.of("reason", reason.name(), "inMemory", true, "dueOnArrival", true));
        return Optional.of(Wakeup.of(reason));
      }
      return Optional.<Wakeup>empty();
    });
  }

  @Override
  public boolean waiting(String workflowId, long seq, List<PendingWait> waits, boolean inMemory, Map<String, Object> details) {
    Optional<Optional<String>> applied = sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING || !owned(w)) {
        fencedOut(w, workflowId, "SUSPENDED", seq);
        return Optional.<Optional<String>>empty(); // cancelled meanwhile, or its lease went to another worker: nothing to arm
      }
      Registry.apply(c, w, Registry.Change.to().state(WorkflowState.SUSPENDED).seq(seq)
          .waits(waits).inMemory(inMemory).wakeFailures(0)
          .owner(inMemory ? w.owner : null) // a frozen workflow belongs to no worker
          .image(stacks(waits, details), longOrNull(details, "rawBytes"), longOrNull(details, "packedBytes")));
      Map<String, Object> h = new LinkedHashMap<>(details);
      h.remove("stack");
      h.put("inMemory", inMemory);
      History.record(c, workflowId, inMemory ? "WAITING_IN_MEMORY" : "SUSPENDED", seq, h);
      if (Mailbox.hasPending(c, workflowId, waits)) {
        return Optional.of(Optional.of(WakeReason.SIGNAL.name()));
      }
      return Optional.of(Optional.<String>empty());
    });
    if (applied.isEmpty()) {
      return false;
    }
    CrashPoint.reach(CrashPoint.SUSPEND_COMMITTED);
    Optional<String> wakeNow = applied.get();
    afterCommit("arming the wake of " + workflowId, () -> {
      if (wakeNow.isPresent()) {
        timers.wake(workflowId, seq, wakeNow.get(), Instant.now());
      } else {
        armEarliest(workflowId, seq, waits);
      }
    });
    return true;
  }

  /** Arms the wake for the earliest timer or deadline of a wait set, if any has one. */
  private void armEarliest(String workflowId, long seq, List<PendingWait> waits) {
    waits.stream().filter(x -> x.wakeAt().isPresent()).min(java.util.Comparator.comparing(x -> x.wakeAt().get()))
        .ifPresent(x -> timers.wake(workflowId, seq,
            x.kind() == WaitKind.SIGNAL ? WakeReason.TIMEOUT.name() : WakeReason.TIMER.name(), x.wakeAt().get()));
  }

  /** The stacks of a wait set's threads, one after the other (what a single wait reported in its details before). */
  private static String stacks(List<PendingWait> waits, Map<String, Object> details) {
    String joined = String.join("\n", waits.stream().map(PendingWait::stack).filter(x -> !x.isEmpty()).toList());
    return joined.isEmpty() ? (String) details.get("stack") : joined;
  }

  /**
   * Schedules what a committed change calls for. The change stands if scheduling fails (Quartz's
   * database went away for longer than its retries): the sweep finds the workflow without a job
   * and schedules it again, so the caller is not told that a stored change failed.
   */
  private void afterCommit(String what, Runnable schedule) {
    try {
      schedule.run();
    } catch (RuntimeException e) {
      System.err.println("torpor: " + what + " failed (" + e.getMessage() + "); the sweep re-arms it within "
          + sweepGrace.toSeconds() + " s");
    }
  }

  @Override
  public void undeliverable(String workflowId, long seq, Wakeup wakeup, String error) {
    Optional<String> retry = sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING || w.seq != seq || !owned(w)) {
        return Optional.<String>empty();
      }
      Mailbox.giveBack(c, w, wakeup);
      int failures = w.wakeFailures + 1;
      History.record(c, workflowId, "RESTORE_FAILED", seq, Map.of("error", String.valueOf(error), "attempt", failures));
      if (failures >= MAX_WAKE_FAILURES) {
        Registry.apply(c, w, Registry.Change.to().state(WorkflowState.FAILED).owner(null)
            .error("could not be woken after " + failures + " attempts: " + error));
        History.record(c, workflowId, "FAILED", seq, Map.of("error", String.valueOf(error)));
        return Optional.<String>empty();
      }
      // A wait in memory stays with the worker whose memory holds it; a frozen one belongs to no worker.
      Registry.apply(c, w, Registry.Change.to().state(WorkflowState.SUSPENDED).owner(w.inMemory ? w.owner : null)
          .wakeFailures(failures));
      return Optional.of(wakeup.signal().isPresent() ? WakeReason.SIGNAL.name() : wakeup.reason().name());
    });
    retry.ifPresent(r -> timers.wake(workflowId, seq, r, Instant.now().plus(config.retryDelay())));
  }

  @Override
  public void declined(String workflowId, long seq, Wakeup wakeup, String reason) {
    String me = nodeId;
    String name = workerName(me);
    Optional<String> retry = sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING || w.seq != seq || !owned(w)) {
        return Optional.<String>empty();
      }
      Mailbox.giveBack(c, w, wakeup);
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO torpor_decline (workflow_id, seq, worker_name, reason, at)"
          + " SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM torpor_decline WHERE workflow_id = ? AND seq = ? AND worker_name = ?)")) {
        ps.setString(1, workflowId);
        ps.setLong(2, seq);
        ps.setString(3, name);
        ps.setString(4, reason);
        ps.setLong(5, System.currentTimeMillis());
        ps.setString(6, workflowId);
        ps.setLong(7, seq);
        ps.setString(8, name);
        ps.executeUpdate();
      }
      History.record(c, workflowId, "DECLINED", seq, Map.of("worker", me, "reason", String.valueOf(reason)));
      if (takers(c, workflowId, seq) == 0 || !clustered) {
        Registry.apply(c, w, Registry.Change.to().owner(null));
        reportUnrestorable(c, w);
        return Optional.<String>empty();
      }
      Registry.apply(c, w, Registry.Change.to().state(WorkflowState.SUSPENDED).owner(null));
      return Optional.of(wakeup.signal().isPresent() ? WakeReason.SIGNAL.name() : wakeup.reason().name());
    });
    retry.ifPresent(r -> timers.wake(workflowId, seq, r, Instant.now().plusMillis(50)));
  }

  /**
   * When a wake this node cannot take is due again, for another node to take. Past Quartz's
   * acquisition window (a node takes the triggers due within its idle wait, 1 s, and the node
   * that schedules a trigger is woken to look at once): sooner, and the node handing the wake
   * back takes it straight back, again and again, while the node that could run it never sees
   * it. From there, whichever node polls first takes it; every node polls at least once a second.
   */
  private static Instant handBack() {
    return Instant.now().plusMillis(1_500 + ThreadLocalRandom.current().nextInt(1_000));
  }

  /** How many live workers (by name) have not declined image {@code seq} of the workflow. */
  private static int takers(Connection c, String workflowId, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(DISTINCT name) FROM torpor_worker WHERE state = 'LIVE'"
        + " AND name NOT IN (SELECT worker_name FROM torpor_decline WHERE workflow_id = ? AND seq = ?)")) {
      ps.setString(1, workflowId);
      ps.setLong(2, seq);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /** Reported once, not retried: a worker that joins later tries again ({@link #rearmUnrestorable}). */
  private static void reportUnrestorable(Connection c, WorkflowRow w) throws SQLException {
    String workflowId = w.id;
    long seq = w.seq;
    Registry.apply(c, w, Registry.Change.to().state(WorkflowState.SUSPENDED).unrestorable(true));
    History.record(c, workflowId, "UNRESTORABLE", seq, Map.of("error", "no live worker can restore image " + seq
        + ": " + declineReasons(c, workflowId, seq) + "; start a worker that can (same JDK build at the same path,"
        + " compatible CPU), and the wake is tried again when it joins"));
  }

  private static String declineReasons(Connection c, String workflowId, long seq) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT worker_name, reason FROM torpor_decline WHERE workflow_id = ? AND seq = ? ORDER BY worker_name")) {
      ps.setString(1, workflowId);
      ps.setLong(2, seq);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1) + ": " + rs.getString(2));
        }
      }
    }
    return String.join("; ", out);
  }

  private static boolean declinedBy(Connection c, String workflowId, long seq, String workerName) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM torpor_decline WHERE workflow_id = ? AND seq = ? AND worker_name = ?")) {
      ps.setString(1, workflowId);
      ps.setLong(2, seq);
      ps.setString(3, workerName);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** A worker's name from its lease id ({@code name@incarnation}). */
  private static String workerName(String id) {
    int at = id.lastIndexOf('@');
    return at < 0 ? id : id.substring(0, at);
  }

  @Override
  public boolean owns(String workflowId) {
    if (!clustered) {
      return true;
    }
    String me = nodeId;
    return !fenced() && sql.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM torpor_workflow WHERE id = ? AND owner = ? AND state = 'RUNNING'")) {
        ps.setString(1, workflowId);
        ps.setString(2, me);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  /** Whether this node holds the workflow's lease: only the owner of a running segment may commit its outcome. */
  private boolean owned(WorkflowRow w) {
    return !clustered || (!fenced() && nodeId.equals(w.owner));
  }

  private void fencedOut(WorkflowRow w, String workflowId, String what, long seq) {
    if (w != null && w.state == WorkflowState.RUNNING && !owned(w)) {
      System.err.println("torpor worker: " + what + " of " + workflowId + " at seq " + seq + " not committed: the workflow's"
          + " lease is held by " + w.owner + ", not " + nodeId);
    }
  }

  @Override
  public boolean event(String workflowId, SegmentEvent type, long seq, Map<String, Object> details) {
    return sql.tx(c -> {
      // Locked, so that a recovery or a cancel cannot slip between the owner check and the change.
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || !owned(w)) {
        return false; // from a segment whose lease another worker holds now: not history
      }
      if (type == SegmentEvent.CHECKPOINTED) {
        if (w.state != WorkflowState.RUNNING || w.seq >= seq) {
          return false; // cancelled, recovered or finished meanwhile: the savepoint is not the workflow's
        }
        // A savepoint: from now on a crash resumes from this image, which wakes as a checkpoint.
        // The wait that ended before it is over: a later wake must not take a signal in its name.
        Registry.apply(c, w, Registry.Change.to().seq(seq).lastWake(WakeReason.CHECKPOINT.name(), List.of()).waits(List.of())
            .wakeFailures(0).image(null, longOrNull(details, "rawBytes"), longOrNull(details, "packedBytes")));
      }
      History.record(c, workflowId, type.name(), seq, details);
      return true;
    });
  }

  // ----- image ledger -----

  @Override
  public List<Finished> finishedHoldingImages(int limit) {
    return sql.tx(c -> {
      List<Finished> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id, state, seq, updated_at, images_kept FROM torpor_workflow"
          + " WHERE state IN ('COMPLETED', 'FAILED', 'CANCELLED') AND images_kept <> 'NONE' ORDER BY updated_at LIMIT ?")) {
        ps.setInt(1, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Finished(rs.getString(1), WorkflowState.valueOf(rs.getString(2)), rs.getLong(3),
                Instant.ofEpochMilli(rs.getLong(4)), ImagesKept.valueOf(rs.getString(5))));
          }
        }
      }
      return out;
    });
  }

  @Override
  public void imagesKept(String workflowId, ImagesKept kept) {
    sql.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_workflow SET images_kept = ? WHERE id = ?")) {
        ps.setString(1, kept.name());
        ps.setString(2, workflowId);
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public void exited(String workflowId, int exitCode, String logTail) {
    finish(workflowId, exitCode == 0 ? WorkflowState.COMPLETED : WorkflowState.FAILED, exitCode,
        exitCode == 0 ? null : "exit code " + exitCode + (logTail.isEmpty() ? "" : "; log ends with: " + logTail));
  }

  private void finish(String workflowId, WorkflowState state, Integer exitCode, String error) {
    sql.tx(c -> {
      WorkflowRow w = Registry.lockIfExists(c, workflowId);
      if (w == null || w.state.isFinal()) {
        return null;
      }
      if (!owned(w)) {
        fencedOut(w, workflowId, "the exit (" + exitCode + ")", w.seq);
        return null;
      }
      Registry.apply(c, w, Registry.Change.to().state(state).outcome(exitCode, error).owner(null));
      Map<String, Object> d = new LinkedHashMap<>();
      if (exitCode != null) {
        d.put("exitCode", exitCode);
      }
      if (error != null) {
        d.put("error", error);
      }
      History.record(c, workflowId, state.name(), w.seq, d);
      return null;
    });
    CrashPoint.reach(CrashPoint.EXIT_COMMITTED);
    timers.cancelAll(workflowId);
  }

  // ----- rows -----

  private static WorkflowView view(ResultSet rs, int pendingSignals) throws SQLException {
    Long wakeAt = rs.getObject(9, Long.class);
    Integer exit = rs.getObject(14, Integer.class);
    WorkflowState state = WorkflowState.valueOf(rs.getString(2));
    boolean waiting = state == WorkflowState.SUSPENDED;
    return new WorkflowView(rs.getString(1), state, rs.getLong(3), rs.getString(4), Json.strings(rs.getString(5)),
        rs.getString(6), waiting ? rs.getString(7) : null, waiting ? rs.getString(8) : null,
        waiting && wakeAt != null ? Instant.ofEpochMilli(wakeAt) : null, waiting && rs.getBoolean(10),
        waiting ? rs.getString(11) : null, rs.getObject(12, Long.class), rs.getObject(13, Long.class),
        pendingSignals, exit, rs.getString(15), Instant.ofEpochMilli(rs.getLong(16)), Instant.ofEpochMilli(rs.getLong(17)),
        waiting && rs.getString(18) != null ? Json.waits(rs.getString(18)).stream().map(WorkflowView.Wait::of).toList() : List.of());
  }

  /**
   * A list's view of a workflow: its waits without their threads' stacks, which only {@code status}
   * shows (a page of workflows each waiting on many threads would otherwise carry every stack).
   */
  private static WorkflowView withoutStacks(WorkflowView v) {
    return new WorkflowView(v.id(), v.state(), v.seq(), v.mainClass(), v.args(), v.appSha256(), v.waitKind(),
        v.waitSignal(), v.wakeAt(), v.inMemory(), null, v.imageBytes(), v.packedBytes(), v.pendingSignals(), v.exitCode(),
        v.error(), v.createdAt(), v.updatedAt(),
        v.waits().stream().map(w -> new WorkflowView.Wait(w.id(), w.kind(), w.signals(), w.wakeAt(), "")).toList());
  }

  /** A numeric detail of a worker event as a long, or null if absent. */
  private static Long longOrNull(Map<String, Object> details, String key) {
    Object v = details.get(key);
    return v == null ? null : ((Number) v).longValue();
  }

  private static String newId() {
    return "wf-" + Long.toString(System.currentTimeMillis(), 36) + "-"
        + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  @Override
  public void close() {
    Sql.stopGently(sweeper, Duration.ofSeconds(10));
    Leases l = leases;
    if (l != null) {
      l.close();
    }
    timers.close();
    db.close();
  }
}
