package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.workflows.Layout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue #15, {@code --no-aslr}: an explicit, warned opt-in under which workflow JVMs run with the
 * ADDR_NO_RANDOMIZE personality, set again at each restore (CRIU 4.2 does not), so that two workflows have the
 * same layout; and their class data archive is not relocated, so their images are smaller. Without
 * it, the layout is random and the personality plain.
 */
class NoAslrIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LINE = Pattern.compile("(before|after) personality=(\\w+) libjvm=(\\w+)");

  @Test
  void workflowsRunWithoutAslrOnlyWhenAskedAndKeepItAcrossARestore() throws Exception {
    long plainRaw;
    try (ServerProcess plain = new ServerProcess()) {
      plain.start();
      assertThat(plain.serverErr()).doesNotContain("--no-aslr");
      List<String[]> a = run(plain, "plain-a");
      List<String[]> b = run(plain, "plain-b");
      assertThat(a.get(0)[1]).as("personality without --no-aslr").isEqualTo("00000000");
      assertThat(a.get(0)[2]).as("a random layout differs between two JVMs").isNotEqualTo(b.get(0)[2]);
      plainRaw = rawBytes(plain, "plain-a");
    }
    try (ServerProcess fixed = new ServerProcess("--no-aslr")) {
      fixed.start();
      assertThat(fixed.serverErr()).contains("warning: --no-aslr").contains("layout");
      List<String[]> a = run(fixed, "fixed-a");
      List<String[]> b = run(fixed, "fixed-b");
      assertThat(a.get(0)[1]).as("ADDR_NO_RANDOMIZE").isEqualTo("00040000");
      assertThat(a.get(1)[1]).as("kept by CRIU across the restore").isEqualTo("00040000");
      assertThat(a.get(1)[2]).as("the same layout after the restore").isEqualTo(a.get(0)[2]);
      assertThat(b.get(0)[2]).as("the same layout in another workflow").isEqualTo(a.get(0)[2]);
      long fixedRaw = rawBytes(fixed, "fixed-a");
      assertThat(fixedRaw).as("the class data archive's pages are not dumped: %d against %d bytes", fixedRaw, plainRaw)
          .isLessThan(plainRaw - (4L << 20));
    }
  }

  /** Runs Layout to completion as {@code id}; its two lines as [when, personality, libjvm]. */
  private static List<String[]> run(ServerProcess server, String id) throws Exception {
    Path jar = ServerProcess.workflowJar(server.data);
    assertThat(server.cli("submit", "--jar", jar.toString(), "--main", Layout.class.getName(), "--id", id).exitCode())
        .isZero();
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
        .until(() -> server.get("/v1/workflows/" + id).body().contains("\"state\":\"COMPLETED\""));
    String log = server.cli("logs", id).out();
    List<String[]> lines = log.lines().map(LINE::matcher).filter(Matcher::matches)
        .map(m -> new String[] {m.group(1), m.group(2), m.group(3)}).toList();
    assertThat(lines).as(log).hasSize(2);
    assertThat(server.get("/v1/workflows/" + id + "/history").body()).as("it was checkpointed").contains("RESUMED");
    return lines;
  }

  private static long rawBytes(ServerProcess server, String id) throws Exception {
    for (JsonNode e : JSON.readTree(server.get("/v1/workflows/" + id + "/history").body())) {
      if ("SUSPENDED".equals(e.path("type").asText())) {
        return e.path("details").path("rawBytes").asLong();
      }
    }
    throw new AssertionError("no SUSPENDED event for " + id);
  }
}
