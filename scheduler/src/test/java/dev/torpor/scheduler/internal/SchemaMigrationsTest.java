package dev.torpor.scheduler.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.TorporException;
import dev.torpor.scheduler.ControlPlaneConfig;
import dev.torpor.scheduler.PostgresProcess;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The schema's versioned migrations on a real H2 file and a real PostgreSQL server: a fresh
 * database, one made by the start-up DDL of before versions (kept here as it was, frozen), a
 * database newer than this build, and several nodes starting at once on one PostgreSQL.
 */
class SchemaMigrationsTest {
  private static PostgresProcess pg;
  private static int databases;
  @TempDir Path dir;

  @BeforeAll
  static void startPostgres() throws Exception {
    pg = new PostgresProcess();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    pg.close();
  }

  private ControlPlaneConfig h2(String name) {
    return new ControlPlaneConfig("jdbc:h2:file:" + dir.resolve(name).toAbsolutePath() + ";LOCK_TIMEOUT=10000", "sa", "",
        dir, dir, 1, Duration.ofSeconds(5));
  }

  private ControlPlaneConfig postgres() throws Exception {
    return new ControlPlaneConfig(pg.createDatabase("m" + (++databases)), "postgres", null, dir, dir, 1, Duration.ofSeconds(5));
  }

  @Test
  void aFreshH2DatabaseGetsEveryVersionOnceAndQuartzTables() throws Exception {
    freshDatabaseGetsEveryVersionOnce(h2("fresh"));
  }

  @Test
  void aFreshPostgresDatabaseGetsEveryVersionOnceAndQuartzTables() throws Exception {
    freshDatabaseGetsEveryVersionOnce(postgres());
  }

  private void freshDatabaseGetsEveryVersionOnce(ControlPlaneConfig config) throws Exception {
    List<String> first;
    try (Database db = new Database(config)) {
      first = versions(db);
      try (Connection c = db.dataSource().getConnection()) {
        assertThat(Migrations.hasTable(c, "qrtz_job_details")).isTrue();
      }
    }
    assertThat(first).hasSize(Migrations.latest());
    for (int v = 1; v <= Migrations.latest(); v++) {
      assertThat(first.get(v - 1)).startsWith(v + " ");
    }
    try (Database again = new Database(config)) {
      assertThat(versions(again)).as("a second start applies nothing").isEqualTo(first);
    }
  }

  @Test
  void anH2DatabaseMadeBeforeVersionsIsBaselinedKeepsItsRowsAndMatchesAFreshOne() throws Exception {
    madeBeforeVersionsIsUpgraded(h2("legacy"), h2("legacy-oldest"), h2("reference"), false);
  }

  @Test
  void aPostgresDatabaseMadeBeforeVersionsIsBaselinedKeepsItsRowsAndMatchesAFreshOne() throws Exception {
    madeBeforeVersionsIsUpgraded(postgres(), postgres(), postgres(), true);
  }

  private void madeBeforeVersionsIsUpgraded(ControlPlaneConfig today, ControlPlaneConfig oldest, ControlPlaneConfig fresh,
      boolean postgres) throws Exception {
    String reference;
    try (Database db = new Database(fresh)) {
      reference = schema(db);
    }
    for (ControlPlaneConfig config : List.of(today, oldest)) {
      try (Connection c = java.sql.DriverManager.getConnection(config.jdbcUrl(), config.user(), config.password());
          Statement s = c.createStatement()) {
        for (String sql : legacyDdl(postgres, config == oldest)) {
          s.execute(sql);
        }
        s.execute("INSERT INTO torpor_workflow (id, state, seq, request_hash, app_sha256, main_class, args, java_options,"
            + " created_at, updated_at) VALUES ('kept', 'SUSPENDED', 3, 'h', 'a', 'com.acme.Main', '[]', '[]', 1, 2)");
        if (config == today) {
          try (java.sql.PreparedStatement ps = c.prepareStatement(
              "INSERT INTO torpor_signal (workflow_id, name, payload, received_at) VALUES ('kept', 'go', ?, 5)")) {
            ps.setBytes(1, new byte[] {1, 2});
            ps.executeUpdate();
          }
          try (java.sql.PreparedStatement ps = c.prepareStatement(
              "INSERT INTO torpor_log (workflow_id, start_offset, length, data) VALUES ('kept', 0, 2, ?)")) {
            ps.setBytes(1, "hi".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            ps.executeUpdate();
          }
          s.execute("UPDATE torpor_workflow SET log_bytes = 2 WHERE id = 'kept'");
        }
      }
      try (Database db = new Database(config)) {
        assertThat(versions(db)).first().asString().startsWith("1 baseline");
        assertThat(versions(db)).hasSize(Migrations.latest());
        assertThat(schema(db)).as("the upgraded schema is the one a fresh database gets").isEqualTo(reference);
        try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
          try (ResultSet rs = s.executeQuery("SELECT state, seq, images_kept, env, log_bytes FROM torpor_workflow WHERE id = 'kept'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("SUSPENDED");
            assertThat(rs.getLong(2)).isEqualTo(3);
            assertThat(rs.getString(3)).isEqualTo("ALL");
            assertThat(rs.getString(4)).isEqualTo("{}");
            assertThat(rs.getLong(5)).isEqualTo(config == today ? 2 : 0);
          }
          if (config == today) {
            try (ResultSet rs = s.executeQuery("SELECT name, payload FROM torpor_signal WHERE workflow_id = 'kept'")) {
              assertThat(rs.next()).isTrue();
              assertThat(rs.getString(1)).isEqualTo("go");
              assertThat(rs.getBytes(2)).containsExactly(1, 2);
            }
            try (ResultSet rs = s.executeQuery("SELECT l.start_offset, l.data, g.segment, g.seg_no, g.base_offset, g.length"
                + " FROM torpor_log l JOIN torpor_log_segment g ON g.workflow_id = l.workflow_id WHERE l.workflow_id = 'kept'")) {
              assertThat(rs.next()).isTrue(); // the log shipped before segments is kept, as the first segment
              assertThat(rs.getLong(1)).isZero();
              assertThat(new String(rs.getBytes(2), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hi");
              assertThat(rs.getString(3)).isEqualTo("before-segments");
              assertThat(rs.getInt(4)).isZero();
              assertThat(rs.getLong(5)).isZero();
              assertThat(rs.getLong(6)).isEqualTo(2);
              assertThat(rs.next()).isFalse();
            }
          }
        }
      }
    }
  }

  @Test
  void aDatabaseNewerThanThisBuildIsRefusedWithWhatToDo() throws Exception {
    for (ControlPlaneConfig config : List.of(h2("newer"), postgres())) {
      try (Database db = new Database(config); Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
        s.execute("INSERT INTO torpor_schema_version (version, description, applied_at) VALUES ("
            + (Migrations.latest() + 1) + ", 'from the future', 0)");
      }
      assertThatThrownBy(() -> new Database(config)).isInstanceOf(TorporException.class)
          .hasMessageContaining("schema version " + (Migrations.latest() + 1))
          .hasMessageContaining("up to " + Migrations.latest())
          .hasMessageContaining("Run that newer Torpor");
    }
  }

  @Test
  void severalNodesStartingAtOnceOnOnePostgresMigrateItOnce() throws Exception {
    ControlPlaneConfig config = postgres();
    int nodes = 4;
    CyclicBarrier together = new CyclicBarrier(nodes);
    ExecutorService pool = Executors.newFixedThreadPool(nodes);
    List<Database> opened = new ArrayList<>();
    try {
      List<Future<Database>> starts = new ArrayList<>();
      for (int i = 0; i < nodes; i++) {
        starts.add(pool.submit(() -> {
          together.await(30, TimeUnit.SECONDS);
          return new Database(config);
        }));
      }
      for (Future<Database> f : starts) {
        opened.add(f.get(120, TimeUnit.SECONDS)); // throws if any start failed
      }
      assertThat(versions(opened.get(0))).hasSize(Migrations.latest());
      try (Connection c = opened.get(0).dataSource().getConnection(); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM qrtz_locks")) {
        rs.next(); // Quartz's tables were made once: a second CREATE TABLE would have failed a start
      }
    } finally {
      opened.forEach(Database::close);
      pool.shutdownNow();
    }
  }

  private static List<String> versions(Database db) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT version, description, applied_at FROM torpor_schema_version ORDER BY version")) {
      while (rs.next()) {
        out.add(rs.getInt(1) + " " + rs.getString(2) + " @" + rs.getLong(3));
      }
    }
    return out;
  }

  /** Every column (in order, with type, size, nullability, default) and index of Torpor's tables. */
  private static String schema(Database db) throws SQLException {
    TreeSet<String> out = new TreeSet<>();
    try (Connection c = db.dataSource().getConnection()) {
      DatabaseMetaData md = c.getMetaData();
      try (ResultSet rs = md.getColumns(null, c.getSchema(), "%", "%")) {
        while (rs.next()) {
          String table = rs.getString("TABLE_NAME").toLowerCase(Locale.ROOT);
          if (table.startsWith("torpor_") && !table.equals("torpor_schema_version")) {
            out.add(table + " #" + rs.getInt("ORDINAL_POSITION") + " " + rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT)
                + " " + rs.getString("TYPE_NAME") + "(" + rs.getInt("COLUMN_SIZE") + ") null=" + rs.getString("IS_NULLABLE")
                + " default=" + rs.getString("COLUMN_DEF") + " auto=" + rs.getString("IS_AUTOINCREMENT"));
          }
        }
      }
      for (String table : List.of("torpor_workflow", "torpor_worker", "torpor_log", "torpor_decline", "torpor_signal",
          "torpor_history", "torpor_log_segment")) {
        for (String n : List.of(table, table.toUpperCase(Locale.ROOT))) {
          try (ResultSet rs = md.getIndexInfo(null, c.getSchema(), n, false, false)) {
            while (rs.next()) {
              String index = rs.getString("INDEX_NAME").toLowerCase(Locale.ROOT);
              // primary keys' index names are made up by the database, so only their columns count
              out.add(table + " index " + (index.contains("primary") || index.endsWith("_pkey") ? "pk" : index) + " "
                  + rs.getShort("ORDINAL_POSITION") + " " + rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT)
                  + " unique=" + !rs.getBoolean("NON_UNIQUE"));
            }
          }
        }
      }
    }
    return String.join("\n", out);
  }

  /**
   * The start-up DDL of the builds before versions, exactly as the last of them ran it; {@code
   * oldest} leaves out the columns they added later with ALTER TABLE (and what depends on them).
   */
  private static List<String> legacyDdl(boolean postgres, boolean oldest) {
    String binary = postgres ? "BYTEA" : "VARBINARY(1048576)";
    String text = postgres ? "TEXT" : "CHARACTER LARGE OBJECT";
    List<String> all = new ArrayList<>(List.of(
        "CREATE TABLE IF NOT EXISTS torpor_workflow ("
          + "id VARCHAR(128) PRIMARY KEY, state VARCHAR(16) NOT NULL, seq BIGINT NOT NULL,"
          + " request_hash VARCHAR(64) NOT NULL, app_sha256 VARCHAR(64) NOT NULL, main_class VARCHAR(1024) NOT NULL,"
          + " args " + text + " NOT NULL, java_options " + text + " NOT NULL,"
          + " wait_kind VARCHAR(16), wait_signal VARCHAR(128), wake_at BIGINT, in_memory BOOLEAN DEFAULT FALSE NOT NULL,"
          + " stack " + text + ", image_bytes BIGINT, packed_bytes BIGINT,"
          + " last_wake_reason VARCHAR(16), last_wake_signal BIGINT, wake_failures INT DEFAULT 0 NOT NULL,"
          + " exit_code INT, error " + text + ", created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS torpor_workflow_state ON torpor_workflow(state, wait_kind)",
        "ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS images_kept VARCHAR(8) DEFAULT 'ALL' NOT NULL",
        "CREATE INDEX IF NOT EXISTS torpor_workflow_created ON torpor_workflow(created_at)",
        "ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS owner VARCHAR(160)",
        "ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS unrestorable BOOLEAN DEFAULT FALSE NOT NULL",
        "CREATE INDEX IF NOT EXISTS torpor_workflow_owner ON torpor_workflow(owner)",
        "ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS env " + text + " DEFAULT '{}' NOT NULL",
        "CREATE TABLE IF NOT EXISTS torpor_worker ("
          + "id VARCHAR(160) PRIMARY KEY, name VARCHAR(128) NOT NULL, state VARCHAR(8) NOT NULL, beats BIGINT NOT NULL,"
          + " max_running INT NOT NULL, facts " + text + " NOT NULL, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS torpor_log ("
          + "workflow_id VARCHAR(128) NOT NULL, start_offset BIGINT NOT NULL, length INT NOT NULL, data " + binary + " NOT NULL,"
          + " PRIMARY KEY (workflow_id, start_offset))",
        "ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS log_bytes BIGINT DEFAULT 0 NOT NULL",
        "CREATE TABLE IF NOT EXISTS torpor_decline ("
          + "workflow_id VARCHAR(128) NOT NULL, seq BIGINT NOT NULL, worker_name VARCHAR(128) NOT NULL, reason " + text + ","
          + " at BIGINT NOT NULL, PRIMARY KEY (workflow_id, seq, worker_name))",
        "CREATE TABLE IF NOT EXISTS torpor_signal ("
          + "n BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, workflow_id VARCHAR(128) NOT NULL,"
          + " name VARCHAR(128) NOT NULL, payload " + binary + " NOT NULL, received_at BIGINT NOT NULL,"
          + " delivered_seq BIGINT)",
        "CREATE INDEX IF NOT EXISTS torpor_signal_pending ON torpor_signal(workflow_id, name, n)",
        "CREATE TABLE IF NOT EXISTS torpor_history ("
          + "n BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, workflow_id VARCHAR(128) NOT NULL,"
          + " at BIGINT NOT NULL, type VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, details " + text + " NOT NULL)",
        "CREATE INDEX IF NOT EXISTS torpor_history_workflow ON torpor_history(workflow_id, n)"));
    if (oldest) {
      all.removeIf(s -> s.startsWith("ALTER") || s.contains("torpor_workflow_owner") || s.contains("torpor_worker")
          || s.contains("torpor_log") || s.contains("torpor_decline"));
    }
    return all;
  }
}
