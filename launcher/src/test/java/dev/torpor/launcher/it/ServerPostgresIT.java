package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.Sleeper;
import dev.torpor.launcher.it.workflows.TwoSameSignals;
import dev.torpor.scheduler.PostgresProcess;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code torpor server} on a real PostgreSQL (registry and Quartz job store), across a kill -9. */
class ServerPostgresIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void workflowsCompleteOnPostgresAcrossAServerCrash() throws Exception {
    try (PostgresProcess pg = new PostgresProcess();
        ServerProcess server = new ServerProcess("--db-url", pg.jdbcUrl(), "--db-user", "postgres")) {
      server.start();
      Path jar = ServerProcess.workflowJar(server.data);
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(),
          "--id", "pg-signals").exitCode()).isZero();
      assertThat(server.cli("signal", "pg-signals", "step", "one").exitCode()).isZero();
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Sleeper.class.getName(),
          "--id", "pg-sleeper", "--", "8").exitCode()).isZero();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
          .until(() -> "SUSPENDED".equals(state(server, "pg-sleeper")) && "SUSPENDED".equals(state(server, "pg-signals")));

      server.kill9();
      server.start();
      assertThat(server.cli("signal", "pg-signals", "step", "two").exitCode()).isZero();

      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
          .until(() -> "COMPLETED".equals(state(server, "pg-signals")) && "COMPLETED".equals(state(server, "pg-sleeper")));
      assertThat(server.cli("logs", "pg-signals").out()).isEqualTo("first: one\nsecond: two\n");
      assertThat(server.cli("logs", "pg-sleeper").out()).isEqualTo("sleeping 8 s\nwoke\n");
      assertThat(server.serverErr()).doesNotContain("H2");
    }
  }

  private static String state(ServerProcess server, String id) throws Exception {
    return JSON.readTree(server.get("/v1/workflows/" + id).body()).get("state").asText();
  }
}
