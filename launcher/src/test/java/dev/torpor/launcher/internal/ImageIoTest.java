package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.internal.protocol.Suspend;
import dev.torpor.WaitKind;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.LocalDirectoryImageStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Committing an image whose key is taken (issue #12, defect 3): only the worker that still holds
 * the workflow replaces it; a worker that lost the workflow leaves the new owner's image alone.
 * A real local store and real packing; the checkpoint engine is only asked to describe itself.
 */
class ImageIoTest {
  private static final ImageKey KEY = new ImageKey("taken", 2);

  @TempDir Path tmp;
  private LocalDirectoryImageStore store;
  private ImageIo io;

  private final CheckpointEngine engine = new NoCheckpointEngine();


  @BeforeEach
  void open() throws IOException {
    store = new LocalDirectoryImageStore(tmp.resolve("store"));
    io = new ImageIo(store, Optional.empty(), Duration.ofSeconds(2), engine, WorkflowSpec.currentJavaHome(),
        ImageManifest.FORMAT);
  }

  private ImageManifest commit(String content, boolean mayReplace) throws Exception {
    Path dump = Files.createDirectories(tmp.resolve("dump-" + content));
    Files.writeString(dump.resolve("pages-1.img"), content);
    ImageIo.Facts facts = new ImageIo.Facts(KEY, new Suspend(KEY.workflowId(), WaitKind.TIMER,
        Optional.of(Instant.now().plusSeconds(60)), Optional.empty(), "m", "stack", Optional.empty()),
        Map.of("vendor", "test"), "pipe:[1]", new SandboxPlan(tmp.resolve("run"), WorkflowSpec.currentJavaHome(), List.of()), false);
    return io.commit(facts, dump, new HashMap<>(), System.nanoTime(), () -> mayReplace);
  }

  private String unpacked(ImageManifest m) throws IOException {
    Path dir = tmp.resolve("unpacked-" + System.nanoTime());
    Files.createDirectories(dir);
    io.fetch(m, dir);
    return Files.readString(dir.resolve("pages-1.img"), StandardCharsets.UTF_8);
  }

  @Test
  void aWorkerThatLostTheWorkflowLeavesTheNewOwnersImageAlone() throws Exception {
    commit("the new owner's", true);
    assertThatThrownBy(() -> commit("the stale worker's", false))
        .isInstanceOf(ImageIo.ImageTakenException.class).hasMessageContaining("left alone");
    assertThat(unpacked(store.manifest(KEY).orElseThrow())).isEqualTo("the new owner's");
  }

  @Test
  void theWorkerThatHoldsTheWorkflowReplacesTheDebrisOfAnEarlierRun() throws Exception {
    commit("crashed before the registry heard of it", true);
    commit("the segment run again", true);
    assertThat(unpacked(store.manifest(KEY).orElseThrow())).isEqualTo("the segment run again");
  }
}
