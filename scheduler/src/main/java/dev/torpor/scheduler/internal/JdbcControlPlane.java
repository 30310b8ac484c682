package dev.torpor.scheduler.internal;

import dev.torpor.Signal;
import dev.torpor.internal.protocol.WakeReason;
import dev.torpor.scheduler.ConflictException;
import dev.torpor.scheduler.ControlPlane;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.ImageLedger;
import dev.torpor.scheduler.NotFoundException;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.scheduler.SubmitResult;
import dev.torpor.scheduler.WorkerCallbacks;
import dev.torpor.scheduler.WorkerGateway;
import dev.torpor.scheduler.WorkflowState;
import dev.torpor.scheduler.WorkflowView;
import dev.torpor.scheduler.Wakeup;
import dev.torpor.storage.ImageKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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
 * dispatch. Every state change is a compare-and-set on {@code (id, state, seq)} inside one
 * transaction, so a stale or duplicate wake never restores an old image and one image never
 * runs twice. Signals are rows: pending until a wake claims one (oldest first per name), and
 * claimed by the same transaction that moves the workflow to RUNNING.
 */
public final class JdbcControlPlane implements ControlPlane, WorkerCallbacks, ImageLedger, AutoCloseable {
  private static final Pattern MAIN_CLASS = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final int MAX_WAKE_FAILURES = 5;
  private static final String RECOVER = "RECOVER";
  private static final String COLUMNS = "id, state, seq, main_class, args, app_sha256, wait_kind, wait_signal, wake_at,"
      + " in_memory, stack, image_bytes, packed_bytes, exit_code, error, created_at, updated_at";

  private final ControlPlaneConfig config;
  private final Database db;
  private final Sql sql;
  private final Timers timers;
  private volatile WorkerGateway gateway;

  public JdbcControlPlane(ControlPlaneConfig config, String instanceName, boolean clustered) {
    this.config = config;
    this.db = new Database(config);
    this.sql = new Sql(db.dataSource());
    this.timers = new Timers(db, instanceName, config.quartzThreads(), clustered, new Timers.Handler() {
      @Override
      public void dispatch(String workflowId) {
        fireDispatch(workflowId);
      }

      @Override
      public void wake(String workflowId, long seq, String reason) {
        fireWake(workflowId, seq, reason);
      }
    });
  }

  /**
   * Recovers what a crash left behind and starts firing timers. Workflows that were RUNNING
   * (their JVMs are gone: the caller killed any orphan first) resume from their last image, or
   * start again if they had none.
   */
  public void start(WorkerGateway gateway) {
    this.gateway = gateway;
    recover();
    timers.start();
  }

  // ----- user operations -----

  @Override
  public String storeApp(InputStream jar) throws IOException {
    Path apps = Files.createDirectories(config.dataDir().resolve("apps"));
    Path tmp = Files.createTempFile(apps, "upload", ".tmp");
    try {
      MessageDigest sha = sha256();
      byte[] head;
      try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
        head = jar.readNBytes(4);
        out.write(head);
        jar.transferTo(out);
      }
      if (head.length < 4 || head[0] != 'P' || head[1] != 'K' || head[2] != 3 || head[3] != 4) {
        throw new IllegalArgumentException("the uploaded application is not a jar (no zip header): upload the .jar file");
      }
      String hex = HexFormat.of().formatHex(sha.digest());
      Path target = appJar(hex);
      if (!Files.exists(target)) {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      }
      return hex;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Where the application jar with this SHA-256 lives: the same path for every run and restore. */
  public Path appJar(String sha256) {
    return config.dataDir().resolve("apps").resolve(sha256 + ".jar");
  }

  @Override
  public SubmitResult submit(SubmitRequest r) {
    String id = r.id() != null ? ImageKey.checkWorkflowId(r.id()) : newId();
    if (!SHA256.matcher(r.appSha256()).matches() || !Files.exists(appJar(r.appSha256()))) {
      throw new IllegalArgumentException("unknown application " + r.appSha256() + ": upload the jar first (POST /v1/apps)");
    }
    if (!MAIN_CLASS.matcher(r.mainClass()).matches()) {
      throw new IllegalArgumentException("'" + r.mainClass() + "' is not a Java class name");
    }
    String hash = HexFormat.of().formatHex(sha256().digest(
        Json.write(List.of(r.appSha256(), r.mainClass(), r.args(), r.javaOptions())).getBytes(StandardCharsets.UTF_8)));
    boolean created = sql.tx(c -> {
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
          + " app_sha256, main_class, args, java_options, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?)")) {
        ins.setString(1, id);
        ins.setString(2, WorkflowState.PENDING.name());
        ins.setString(3, hash);
        ins.setString(4, r.appSha256());
        ins.setString(5, r.mainClass());
        ins.setString(6, Json.write(r.args()));
        ins.setString(7, Json.write(r.javaOptions()));
        ins.setLong(8, now);
        ins.setLong(9, now);
        ins.executeUpdate();
      }
      history(c, id, "SUBMITTED", 0, Map.of("main", r.mainClass(), "app", r.appSha256()));
      return true;
    });
    if (created) {
      timers.dispatch(id, Instant.now());
    }
    return new SubmitResult(id, created);
  }

  @Override
  public void signal(String workflowId, String name, byte[] payload) {
    ImageKey.checkWorkflowId(workflowId);
    if (name == null || name.isEmpty() || name.length() > 128 || name.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("signal name must be 1 to 128 printable characters: '" + name + "'");
    }
    if (payload.length > MAX_SIGNAL_PAYLOAD) {
      throw new IllegalArgumentException("signal payload of " + payload.length + " bytes is over the limit of "
          + MAX_SIGNAL_PAYLOAD + " bytes (1 MiB): keep large data elsewhere and send a reference");
    }
    Optional<Long> wakeSeq = sql.tx(c -> {
      Row w = lock(c, workflowId);
      if (w.state.isFinal()) {
        throw new ConflictException("workflow " + workflowId + " has finished (" + w.state
            + "): signals are accepted only until it finishes");
      }
      try (PreparedStatement ins = c.prepareStatement(
          "INSERT INTO torpor_signal (workflow_id, name, payload, received_at) VALUES (?, ?, ?, ?)")) {
        ins.setString(1, workflowId);
        ins.setString(2, name);
        ins.setBytes(3, payload);
        ins.setLong(4, System.currentTimeMillis());
        ins.executeUpdate();
      }
      history(c, workflowId, "SIGNAL_RECEIVED", w.seq, Map.of("signal", name, "bytes", payload.length));
      boolean awaited = w.state == WorkflowState.SUSPENDED && "SIGNAL".equals(w.waitKind) && name.equals(w.waitSignal);
      return awaited ? Optional.of(w.seq) : Optional.empty();
    });
    wakeSeq.ifPresent(seq -> timers.wake(workflowId, seq, WakeReason.SIGNAL.name(), Instant.now()));
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
            out.add(view(rs, 0));
          }
        }
        return out;
      }
    });
  }

  @Override
  public WorkflowView status(String workflowId) {
    ImageKey.checkWorkflowId(workflowId);
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
            throw notFound(workflowId);
          }
          return view(rs, pending);
        }
      }
    });
  }

  @Override
  public List<HistoryEvent> history(String workflowId) {
    status(workflowId);
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
  public void cancel(String workflowId) {
    ImageKey.checkWorkflowId(workflowId);
    sql.tx(c -> {
      Row w = lock(c, workflowId);
      if (w.state.isFinal()) {
        throw new ConflictException("workflow " + workflowId + " has already finished (" + w.state + ")");
      }
      update(c, workflowId, "state = 'CANCELLED', error = 'cancelled by an operator'");
      history(c, workflowId, "CANCELLED", w.seq, Map.of("was", w.state.name()));
      return null;
    });
    timers.cancelAll(workflowId);
    WorkerGateway g = gateway;
    if (g != null) {
      g.kill(workflowId);
    }
  }

  @Override
  public void wake(String workflowId) {
    ImageKey.checkWorkflowId(workflowId);
    long seq = sql.tx(c -> {
      Row w = lock(c, workflowId);
      if (w.state != WorkflowState.SUSPENDED || !"TIMER".equals(w.waitKind)) {
        String what = w.state == WorkflowState.SUSPENDED ? "waits for signal '" + w.waitSignal + "': send it instead" : "is " + w.state;
        throw new ConflictException("workflow " + workflowId + " is not waiting on a timer: it " + what);
      }
      return w.seq;
    });
    timers.wake(workflowId, seq, WakeReason.OPERATOR.name(), Instant.now());
  }

  @Override
  public LogChunk logs(String workflowId, long offset, int max) throws IOException {
    WorkflowView v = status(workflowId);
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

  // ----- jobs -----

  void fireDispatch(String workflowId) {
    WorkerGateway g = gateway;
    if (!g.tryReserve()) {
      timers.dispatch(workflowId, Instant.now().plusMillis(250));
      return;
    }
    Optional<Row> row = sql.tx(c -> {
      Row w = lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.PENDING) {
        return Optional.empty();
      }
      update(c, workflowId, "state = 'RUNNING'");
      history(c, workflowId, "STARTED", 0, Map.of());
      return Optional.of(w);
    });
    if (row.isEmpty()) {
      g.release();
      return;
    }
    Row w = row.get();
    try {
      g.start(workflowId, appJar(w.appSha256), w.mainClass, w.args, w.javaOptions);
    } catch (IOException | RuntimeException e) {
      g.release();
      finish(workflowId, WorkflowState.FAILED, null, "could not start: " + e.getMessage());
    }
  }

  void fireWake(String workflowId, long seq, String reason) {
    WorkerGateway g = gateway;
    if (!g.tryReserve()) {
      timers.wake(workflowId, seq, reason, Instant.now().plusMillis(250));
      return;
    }
    Optional<Wakeup> wakeup = sql.tx(c -> {
      Row w = lockIfExists(c, workflowId);
      if (w == null || w.seq != seq || w.state != (RECOVER.equals(reason) ? WorkflowState.RUNNING : WorkflowState.SUSPENDED)) {
        return Optional.<Wakeup>empty(); // stale: the workflow moved on
      }
      Wakeup d;
      if (RECOVER.equals(reason)) {
        d = recoveredWakeup(c, w);
      } else {
        Optional<Claimed> pending = "SIGNAL".equals(w.waitKind) ? claimSignal(c, workflowId, w.waitSignal, seq) : Optional.empty();
        if (pending.isPresent()) {
          d = new Wakeup(WakeReason.SIGNAL, Optional.of(pending.get().signal()));
        } else if (WakeReason.SIGNAL.name().equals(reason)) {
          return Optional.<Wakeup>empty(); // a duplicate: the signal was taken by an earlier wake
        } else {
          d = Wakeup.of(WakeReason.valueOf(reason));
        }
        long signalN = pending.map(Claimed::n).orElse(-1L);
        update(c, workflowId, "state = 'RUNNING', last_wake_reason = '" + d.reason().name() + "', last_wake_signal = "
            + (signalN < 0 ? "NULL" : Long.toString(signalN)));
      }
      history(c, workflowId, "WAKING", seq, Map.of("reason", d.reason().name(), "inMemory", w.inMemory));
      return Optional.of(d);
    });
    if (wakeup.isEmpty()) {
      g.release();
      return;
    }
    try {
      g.wake(workflowId, seq, wakeup.get());
    } catch (IOException | RuntimeException e) {
      g.release();
      undeliverable(workflowId, seq, wakeup.get(), e.getMessage());
    }
  }

  /** A signal taken from the mailbox, and its row number. */
  private record Claimed(long n, Signal signal) {}

  private Optional<Claimed> claimSignal(Connection c, String workflowId, String name, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT n, payload, received_at FROM torpor_signal"
        + " WHERE workflow_id = ? AND name = ? AND delivered_seq IS NULL ORDER BY n LIMIT 1")) {
      ps.setString(1, workflowId);
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        long n = rs.getLong(1);
        Signal s = new Signal(name, rs.getBytes(2), Instant.ofEpochMilli(rs.getLong(3)));
        try (PreparedStatement up = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = ? WHERE n = ?")) {
          up.setLong(1, seq);
          up.setLong(2, n);
          up.executeUpdate();
        }
        return Optional.of(new Claimed(n, s));
      }
    }
  }

  private Wakeup recoveredWakeup(Connection c, Row w) throws SQLException {
    WakeReason reason = w.lastWakeReason == null ? WakeReason.TIMER : WakeReason.valueOf(w.lastWakeReason);
    if (w.lastWakeSignal == null) {
      return Wakeup.of(reason);
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT name, payload, received_at FROM torpor_signal WHERE n = ?")) {
      ps.setLong(1, w.lastWakeSignal);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Wakeup.of(reason);
        }
        return new Wakeup(reason, Optional.of(new Signal(rs.getString(1), rs.getBytes(2), Instant.ofEpochMilli(rs.getLong(3)))));
      }
    }
  }

  // ----- worker callbacks -----

  @Override
  public Optional<Wakeup> dueNow(String workflowId, long seq, String waitKind, Optional<Instant> wakeAt, Optional<String> signal) {
    return sql.tx(c -> {
      Row w = lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING) {
        return Optional.<Wakeup>empty();
      }
      if ("SIGNAL".equals(waitKind)) {
        Optional<Claimed> s = claimSignal(c, workflowId, signal.orElseThrow(), seq);
        if (s.isPresent()) {
          // Due before the dump began: the JVM carries on without freezing, and the history says so.
          history(c, workflowId, "WAKING", seq, Map.of("reason", WakeReason.SIGNAL.name(), "signal", signal.get(),
              "inMemory", true, "dueOnArrival", true));
          return Optional.of(new Wakeup(WakeReason.SIGNAL, Optional.of(s.get().signal())));
        }
      }
      if (wakeAt.isPresent() && !wakeAt.get().isAfter(Instant.now())) {
        WakeReason reason = "SIGNAL".equals(waitKind) ? WakeReason.TIMEOUT : WakeReason.TIMER;
        history(c, workflowId, "WAKING", seq, Map.of("reason", reason.name(), "inMemory", true, "dueOnArrival", true));
        return Optional.of(Wakeup.of(reason));
      }
      return Optional.<Wakeup>empty();
    });
  }

  @Override
  public void waiting(String workflowId, long seq, String waitKind, Optional<Instant> wakeAt, Optional<String> signal,
      boolean inMemory, Map<String, Object> details) {
    Optional<String> wakeNow = sql.tx(c -> {
      Row w = lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING) {
        return Optional.<String>empty(); // cancelled meanwhile: nothing to arm
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_workflow SET state = 'SUSPENDED', seq = ?,"
          + " wait_kind = ?, wait_signal = ?, wake_at = ?, in_memory = ?, stack = COALESCE(?, stack),"
          + " image_bytes = COALESCE(?, image_bytes), packed_bytes = COALESCE(?, packed_bytes), wake_failures = 0,"
          + " updated_at = ? WHERE id = ?")) {
        ps.setLong(1, seq);
        ps.setString(2, waitKind);
        ps.setString(3, signal.orElse(null));
        ps.setObject(4, wakeAt.map(Instant::toEpochMilli).orElse(null), java.sql.Types.BIGINT);
        ps.setBoolean(5, inMemory);
        ps.setString(6, (String) details.get("stack"));
        ps.setObject(7, longOrNull(details, "rawBytes"), java.sql.Types.BIGINT);
        ps.setObject(8, longOrNull(details, "packedBytes"), java.sql.Types.BIGINT);
        ps.setLong(9, System.currentTimeMillis());
        ps.setString(10, workflowId);
        ps.executeUpdate();
      }
      Map<String, Object> h = new LinkedHashMap<>(details);
      h.remove("stack");
      h.put("inMemory", inMemory);
      history(c, workflowId, inMemory ? "WAITING_IN_MEMORY" : "SUSPENDED", seq, h);
      if ("SIGNAL".equals(waitKind) && hasPending(c, workflowId, signal.orElseThrow())) {
        return Optional.of(WakeReason.SIGNAL.name());
      }
      return Optional.<String>empty();
    });
    if (wakeNow.isPresent()) {
      timers.wake(workflowId, seq, wakeNow.get(), Instant.now());
    } else if (wakeAt.isPresent()) {
      timers.wake(workflowId, seq, "SIGNAL".equals(waitKind) ? WakeReason.TIMEOUT.name() : WakeReason.TIMER.name(), wakeAt.get());
    }
  }

  @Override
  public void undeliverable(String workflowId, long seq, Wakeup wakeup, String error) {
    Optional<String> retry = sql.tx(c -> {
      Row w = lockIfExists(c, workflowId);
      if (w == null || w.state != WorkflowState.RUNNING || w.seq != seq) {
        return Optional.<String>empty();
      }
      if (wakeup.signal().isPresent() && w.lastWakeSignal != null) {
        try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = NULL WHERE n = ?")) {
          ps.setLong(1, w.lastWakeSignal);
          ps.executeUpdate();
        }
      }
      int failures = w.wakeFailures + 1;
      history(c, workflowId, "RESTORE_FAILED", seq, Map.of("error", String.valueOf(error), "attempt", failures));
      if (failures >= MAX_WAKE_FAILURES) {
        update(c, workflowId, "state = 'FAILED', error = " + quote("could not be woken after " + failures + " attempts: " + error));
        history(c, workflowId, "FAILED", seq, Map.of("error", String.valueOf(error)));
        return Optional.<String>empty();
      }
      update(c, workflowId, "state = 'SUSPENDED', wake_failures = " + failures);
      return Optional.of(wakeup.signal().isPresent() ? WakeReason.SIGNAL.name() : wakeup.reason().name());
    });
    retry.ifPresent(r -> timers.wake(workflowId, seq, r, Instant.now().plus(config.retryDelay())));
  }

  @Override
  public void event(String workflowId, String type, long seq, Map<String, Object> details) {
    sql.tx(c -> {
      if ("CHECKPOINTED".equals(type)) {
        // A savepoint: from now on a crash resumes from this image, which wakes as a checkpoint.
        try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_workflow SET seq = ?, last_wake_reason = 'CHECKPOINT',"
            + " last_wake_signal = NULL, image_bytes = COALESCE(?, image_bytes), packed_bytes = COALESCE(?, packed_bytes),"
            + " updated_at = ? WHERE id = ? AND state = 'RUNNING' AND seq < ?")) {
          ps.setLong(1, seq);
          ps.setObject(2, longOrNull(details, "rawBytes"), java.sql.Types.BIGINT);
          ps.setObject(3, longOrNull(details, "packedBytes"), java.sql.Types.BIGINT);
          ps.setLong(4, System.currentTimeMillis());
          ps.setString(5, workflowId);
          ps.setLong(6, seq);
          ps.executeUpdate();
        }
      }
      history(c, workflowId, type, seq, details);
      return null;
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
      Row w = lockIfExists(c, workflowId);
      if (w == null || w.state.isFinal()) {
        return null;
      }
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE torpor_workflow SET state = ?, exit_code = ?, error = ?, updated_at = ? WHERE id = ?")) {
        ps.setString(1, state.name());
        ps.setObject(2, exitCode, java.sql.Types.INTEGER);
        ps.setString(3, error);
        ps.setLong(4, System.currentTimeMillis());
        ps.setString(5, workflowId);
        ps.executeUpdate();
      }
      Map<String, Object> d = new LinkedHashMap<>();
      if (exitCode != null) {
        d.put("exitCode", exitCode);
      }
      if (error != null) {
        d.put("error", error);
      }
      history(c, workflowId, state.name(), w.seq, d);
      return null;
    });
    timers.cancelAll(workflowId);
  }

  // ----- recovery -----

  private void recover() {
    List<Row> rows = sql.tx(c -> {
      List<Row> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM torpor_workflow WHERE state IN ('PENDING', 'RUNNING', 'SUSPENDED')");
          ResultSet rs = ps.executeQuery()) {
        List<String> ids = new ArrayList<>();
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
        for (String id : ids) {
          out.add(lock(c, id));
        }
      }
      return out;
    });
    for (Row w : rows) {
      if (w.state == WorkflowState.PENDING) {
        timers.dispatch(w.id, Instant.now());
      } else if (w.state == WorkflowState.RUNNING || w.inMemory) {
        recoverLive(w);
      } else if ("SIGNAL".equals(w.waitKind) && sql.tx(c -> hasPending(c, w.id, w.waitSignal))) {
        timers.wake(w.id, w.seq, WakeReason.SIGNAL.name(), Instant.now());
      } else if (w.wakeAt != null) {
        // Idempotent re-arm: a duplicate of a trigger Quartz kept is fenced by seq.
        timers.wake(w.id, w.seq, "SIGNAL".equals(w.waitKind) ? WakeReason.TIMEOUT.name() : WakeReason.TIMER.name(),
            Instant.ofEpochMilli(w.wakeAt));
      }
    }
  }

  /** A workflow whose JVM died with the previous server: resume its last image, or start over. */
  private void recoverLive(Row w) {
    boolean restart = w.seq == 0;
    sql.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE torpor_signal SET delivered_seq = NULL"
          + " WHERE workflow_id = ? AND delivered_seq >= ? AND (? IS NULL OR n <> ?)")) {
        ps.setString(1, w.id);
        ps.setLong(2, w.seq);
        ps.setObject(3, w.lastWakeSignal, java.sql.Types.BIGINT);
        ps.setObject(4, w.lastWakeSignal, java.sql.Types.BIGINT);
        ps.executeUpdate();
      }
      update(c, w.id, restart ? "state = 'PENDING', in_memory = FALSE" : "state = 'RUNNING', in_memory = FALSE");
      history(c, w.id, "RECOVERED", w.seq, Map.of("from", restart ? "the start (it had no image)" : "image " + w.seq,
          "was", w.state.name()));
      return null;
    });
    if (restart) {
      timers.dispatch(w.id, Instant.now());
    } else {
      timers.wake(w.id, w.seq, RECOVER, Instant.now());
    }
  }

  // ----- rows -----

  private static final class Row {
    String id;
    WorkflowState state;
    long seq;
    String appSha256;
    String mainClass;
    List<String> args;
    List<String> javaOptions;
    String waitKind;
    String waitSignal;
    Long wakeAt;
    boolean inMemory;
    String lastWakeReason;
    Long lastWakeSignal;
    int wakeFailures;
  }

  private Row lock(Connection c, String id) throws SQLException {
    Row r = lockIfExists(c, id);
    if (r == null) {
      throw notFound(id);
    }
    return r;
  }

  private Row lockIfExists(Connection c, String id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT id, state, seq, app_sha256, main_class, args, java_options,"
        + " wait_kind, wait_signal, wake_at, in_memory, last_wake_reason, last_wake_signal, wake_failures"
        + " FROM torpor_workflow WHERE id = ? FOR UPDATE")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        Row r = new Row();
        r.id = rs.getString(1);
        r.state = WorkflowState.valueOf(rs.getString(2));
        r.seq = rs.getLong(3);
        r.appSha256 = rs.getString(4);
        r.mainClass = rs.getString(5);
        r.args = Json.strings(rs.getString(6));
        r.javaOptions = Json.strings(rs.getString(7));
        r.waitKind = rs.getString(8);
        r.waitSignal = rs.getString(9);
        r.wakeAt = rs.getObject(10, Long.class);
        r.inMemory = rs.getBoolean(11);
        r.lastWakeReason = rs.getString(12);
        r.lastWakeSignal = rs.getObject(13, Long.class);
        r.wakeFailures = rs.getInt(14);
        return r;
      }
    }
  }

  private static boolean hasPending(Connection c, String id, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM torpor_signal WHERE workflow_id = ? AND name = ? AND delivered_seq IS NULL")) {
      ps.setString(1, id);
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static void update(Connection c, String id, String assignments) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "UPDATE torpor_workflow SET " + assignments + ", updated_at = ? WHERE id = ?")) {
      ps.setLong(1, System.currentTimeMillis());
      ps.setString(2, id);
      ps.executeUpdate();
    }
  }

  private static void history(Connection c, String id, String type, long seq, Map<String, Object> details)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO torpor_history (workflow_id, at, type, seq, details) VALUES (?, ?, ?, ?, ?)")) {
      ps.setString(1, id);
      ps.setLong(2, System.currentTimeMillis());
      ps.setString(3, type);
      ps.setLong(4, seq);
      ps.setString(5, Json.write(details));
      ps.executeUpdate();
    }
  }

  private static WorkflowView view(ResultSet rs, int pendingSignals) throws SQLException {
    Long wakeAt = rs.getObject(9, Long.class);
    Integer exit = rs.getObject(14, Integer.class);
    WorkflowState state = WorkflowState.valueOf(rs.getString(2));
    boolean waiting = state == WorkflowState.SUSPENDED;
    return new WorkflowView(rs.getString(1), state, rs.getLong(3), rs.getString(4), Json.strings(rs.getString(5)),
        rs.getString(6), waiting ? rs.getString(7) : null, waiting ? rs.getString(8) : null,
        waiting && wakeAt != null ? Instant.ofEpochMilli(wakeAt) : null, waiting && rs.getBoolean(10),
        waiting ? rs.getString(11) : null, rs.getObject(12, Long.class), rs.getObject(13, Long.class),
        pendingSignals, exit, rs.getString(15), Instant.ofEpochMilli(rs.getLong(16)), Instant.ofEpochMilli(rs.getLong(17)));
  }

  /** A numeric detail of a worker event as a long, or null if absent. */
  private static Long longOrNull(Map<String, Object> details, String key) {
    Object v = details.get(key);
    return v == null ? null : ((Number) v).longValue();
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  private static NotFoundException notFound(String id) {
    return new NotFoundException("no workflow with id " + id + ": `torpor list` shows the known ones");
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
    timers.close();
    db.close();
  }
}
