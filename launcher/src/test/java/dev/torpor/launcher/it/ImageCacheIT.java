package dev.torpor.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.launcher.it.ServerProcess.Result;
import dev.torpor.launcher.it.workflows.TwoSameSignals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue #15, the worker's hot image cache: a wake on the worker that committed the image restores
 * it from the dump kept in its scratch space, with no fetch and no unpacking; the store's copy
 * stays the durable one (a kill -9 loses the cache, and the next wake fetches); a workflow whose
 * image is cached keeps its sandbox root for the wake, one whose image is not holds none; {@code
 * --image-cache 0} turns it off; a size that is not one is refused at start.
 */
class ImageCacheIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aWakeOnTheWorkerThatCommittedTheImageRestoresFromItsCacheAndAKillLosesOnlyTheCache() throws Exception {
    try (ServerProcess server = new ServerProcess()) {
      server.start();
      Path jar = ServerProcess.workflowJar(server.data);
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(), "--id", "hot")
          .exitCode()).isZero();
      awaitCount(server, "hot", "SUSPENDED", 1);
      assertThat(roots(server)).as("a workflow whose image is cached keeps its root for the wake").hasSize(1);
      assertThat(server.cli("signal", "hot", "step", "one").exitCode()).isZero();
      awaitCount(server, "hot", "SUSPENDED", 2);
      List<JsonNode> resumed = events(server, "hot", "RESUMED");
      assertThat(resumed).hasSize(1);
      JsonNode timings = resumed.get(0).path("details").path("timings");
      assertThat(timings.has("fromCache")).as("restored from the cache: " + timings).isTrue();
      assertThat(timings.has("fetchVerifyUnpack")).as("nothing fetched: " + timings).isFalse();

      server.kill9(); // the cache (in the worker's scratch space) goes with the worker; the store keeps the image
      server.start();
      assertThat(server.cli("signal", "hot", "step", "two").exitCode()).isZero();
      awaitCount(server, "hot", "COMPLETED", 1);
      List<JsonNode> after = events(server, "hot", "RESUMED");
      assertThat(after).hasSize(2);
      JsonNode fetched = after.get(1).path("details").path("timings");
      assertThat(fetched.has("fetchVerifyUnpack")).as("fetched from the store after the restart: " + fetched).isTrue();
      assertThat(fetched.has("fromCache")).isFalse();
      assertThat(server.cli("logs", "hot").out()).isEqualTo("first: one\nsecond: two\n");
    }
  }

  @Test
  void aCacheOfZeroFetchesEveryImageAndASizeThatIsNotOneIsRefused() throws Exception {
    try (ServerProcess refused = new ServerProcess("--image-cache", "lots")) {
      Result r = refused.startRefused();
      assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
      assertThat(r.err()).contains("--image-cache").contains("'lots' is not a size").contains("256MiB");
    }
    try (ServerProcess server = new ServerProcess("--image-cache", "0")) {
      server.start();
      Path jar = ServerProcess.workflowJar(server.data);
      assertThat(server.cli("submit", "--jar", jar.toString(), "--main", TwoSameSignals.class.getName(), "--id", "cold")
          .exitCode()).isZero();
      awaitCount(server, "cold", "SUSPENDED", 1);
      assertThat(roots(server)).as("nothing cached: the frozen workflow holds no root").isEmpty();
      assertThat(server.cli("signal", "cold", "step", "one").exitCode()).isZero();
      awaitCount(server, "cold", "SUSPENDED", 2);
      JsonNode timings = events(server, "cold", "RESUMED").get(0).path("details").path("timings");
      assertThat(timings.has("fetchVerifyUnpack")).as(timings.toString()).isTrue();
      assertThat(timings.has("fromCache")).isFalse();
      assertThat(server.cli("cancel", "cold").exitCode()).isZero();
    }
  }

  /** The workflow roots under the server's run directory (directories; their stamps are files beside them). */
  private static List<Path> roots(ServerProcess server) throws java.io.IOException {
    try (java.util.stream.Stream<Path> all = java.nio.file.Files.list(server.runBase.resolve("roots"))) {
      return all.filter(p -> java.nio.file.Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList();
    }
  }

  private static List<JsonNode> events(ServerProcess server, String id, String type) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode e : JSON.readTree(server.get("/v1/workflows/" + id + "/history").body())) {
      if (type.equals(e.path("type").asText())) {
        out.add(e);
      }
    }
    return out;
  }

  private static void awaitCount(ServerProcess server, String id, String type, int n) {
    await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
        .until(() -> events(server, id, type).size() >= n);
  }
}
