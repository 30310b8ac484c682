package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.ServerProcess.Result;
import dev.torpor.launcher.it.workflows.OrgCracSavepoint;
import dev.torpor.scheduler.PostgresProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * org.crac libraries on a stock JDK: a Spring Boot application from Maven Central (HikariCP on a
 * real PostgreSQL, no Torpor code but the wait) submitted as its executable jar, checkpointed by
 * CRIU at its wait and restored; and the same database used through a bare JDBC connection held
 * across the wait, which fails, with a log that names the closed connection.
 */
class CracLibrariesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CLOSED_BY_CHECKPOINT = "TCP connection(s) open at the checkpoint were closed by it";

  private static PostgresProcess pg;
  private static ServerProcess server;
  private static Path app;

  @BeforeAll
  static void start() throws Exception {
    app = Path.of(System.getProperty("torpor.examples.spring.jar"));
    assertThat(app).as("build examples-spring first (mvn install at the top)").exists();
    pg = new PostgresProcess();
    server = new ServerProcess().start();
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (server != null) {
        server.close();
      }
    } finally {
      if (pg != null) {
        pg.close();
      }
    }
  }

  @Test
  void aSpringBootPoolReconnectsAfterAWaitThroughOrgCrac() throws Exception {
    Result submit = server.cli("submit", "--jar", app.toString(),
        "--main", "org.springframework.boot.loader.launch.JarLauncher", "--id", "spring-visits", "--",
        "--spring.datasource.url=" + pg.jdbcUrl(), "--spring.datasource.username=postgres");
    assertThat(submit.exitCode()).as(submit.err()).isZero();

    String state = awaitEnd("spring-visits");

    String log = server.cli("logs", "spring-visits").out();
    assertThat(state).as(log).isEqualTo("COMPLETED");
    int before = backend(log, 1);
    int after = backend(log, 2);
    assertThat(after).as("the pool's connection after the restore is a new one").isNotEqualTo(before);
    assertThat(log).contains("visits: 2")
        .contains("Restarting Spring-managed lifecycle beans after JVM restore")
        .doesNotContain(CLOSED_BY_CHECKPOINT);
    String history = server.cli("history", "spring-visits").out();
    assertThat(history).as("a real checkpoint, not a wait in memory").contains("SUSPENDED").contains("RESUMED")
        .doesNotContain("CHECKPOINT_FAILED").doesNotContain("WAITING_IN_MEMORY");
  }

  @Test
  void aWorkflowsOwnOrgCracCompatOptionWinsAndWithoutSpringsHooksThePoolBreaks() throws Exception {
    Result submit = server.cli("submit", "--jar", app.toString(),
        "--main", "org.springframework.boot.loader.launch.JarLauncher",
        "--java-opts", "-Dorg.crac.Core.Compat=none", "--id", "spring-no-compat", "--",
        "--spring.datasource.url=" + pg.jdbcUrl(), "--spring.datasource.username=postgres");
    assertThat(submit.exitCode()).as(submit.err()).isZero();

    String state = awaitEnd("spring-no-compat");

    // org.crac found no implementation, so nobody closed the pool's connections. HikariCP does not
    // check a connection it lent a moment ago by System.nanoTime(), which does not see the wait.
    String log = server.cli("logs", "spring-no-compat").out();
    assertThat(state).as(log).isEqualTo("FAILED");
    assertThat(log).doesNotContain("Restarting Spring-managed lifecycle beans").doesNotContain("visits: 2")
        .contains(CLOSED_BY_CHECKPOINT).contains(" -> 127.0.0.1:" + pg.port)
        .contains("An I/O error occurred while sending to the backend");
  }

  @Test
  void aBareConnectionHeldAcrossAWaitFailsAndTheLogNamesItsClosedTcpConnection() throws Exception {
    Result submit = server.cli("submit", "--jar", app.toString(),
        "--main", "org.springframework.boot.loader.launch.PropertiesLauncher",
        "--java-opts", "-Dloader.main=dev.torpor.examples.spring.PlainJdbcWorkflow", "--id", "plain-jdbc", "--",
        pg.jdbcUrl(), "postgres");
    assertThat(submit.exitCode()).as(submit.err()).isZero();

    String state = awaitEnd("plain-jdbc");

    String log = server.cli("logs", "plain-jdbc").out();
    assertThat(state).as(log).isEqualTo("FAILED");
    String closed = "torpor: 1 " + CLOSED_BY_CHECKPOINT + " (127.0.0.1:";
    assertThat(log).contains("before the wait: backend ").doesNotContain("after the wait")
        .contains(closed).contains(" -> 127.0.0.1:" + pg.port + "): reopen connections after a wait")
        .contains("An I/O error occurred while sending to the backend");
    assertThat(log.indexOf(closed)).as("named before the error").isLessThan(log.indexOf("An I/O error occurred"));
    assertThat(server.cli("history", "plain-jdbc").out()).contains("SUSPENDED").contains("RESUMED");
  }

  @Test
  void orgCracCheckpointRestoreIsASavepointWithCracsExceptions() throws Exception {
    Path workflows = ServerProcess.workflowJar(server.data);
    Result submit = server.cli("submit", "--jar", workflows.toString(), "--main", OrgCracSavepoint.class.getName(),
        "--id", "org-crac-savepoint");
    assertThat(submit.exitCode()).as(submit.err()).isZero();

    String state = awaitEnd("org-crac-savepoint");

    String log = server.cli("logs", "org-crac-savepoint").out();
    assertThat(state).as(log).isEqualTo("COMPLETED");
    assertThat(log.lines()).as(log).containsExactly(
        "before B", "before A", "after A", "after B", "saved",
        "before B", "before A", "after A", "after B", "CheckpointException, suppressed: B refuses");
    String history = server.cli("history", "org-crac-savepoint").out();
    assertThat(history).as(history).contains("CHECKPOINTED").contains("CHECKPOINT_FAILED");
  }

  private static int backend(String log, int visit) {
    Matcher m = Pattern.compile("visit " + visit + " by backend (\\d+)").matcher(log);
    assertThat(m.find()).as("visit %d in the log:%n%s", visit, log).isTrue();
    return Integer.parseInt(m.group(1));
  }

  private static String awaitEnd(String id) {
    String[] state = new String[1];
    await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500)).until(() -> {
      state[0] = JSON.readTree(server.get("/v1/workflows/" + id).body()).get("state").asText();
      return state[0].equals("COMPLETED") || state[0].equals("FAILED") || state[0].equals("CANCELLED");
    });
    return state[0];
  }
}
