package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.storage.ImageKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCacheTest {
  @TempDir Path tmp;

  /** A dump directory of {@code bytes} bytes in two files, as CRIU leaves one. */
  private Path dump(String name, int bytes) throws IOException {
    Path d = Files.createDirectories(tmp.resolve("dumps").resolve(name));
    Files.write(d.resolve("pages-1.img"), new byte[bytes - 10]);
    Files.writeString(d.resolve("core-1.img"), name.substring(0, 1).repeat(10));
    return d;
  }

  private ImageCache cache(long max) throws IOException {
    return new ImageCache(tmp.resolve("cache"), max);
  }

  @Test
  void aKeptImageIsTakenOnceWithItsFilesAndOnlyForTheSameHash() throws IOException {
    ImageCache cache = cache(1000);
    ImageKey key = new ImageKey("wf", 1);
    Path dump = dump("a", 100);
    assertThat(cache.keep(key, "sha-a", dump)).isTrue();
    assertThat(dump).doesNotExist();
    assertThat(cache.bytes()).isEqualTo(100);

    Path target = tmp.resolve("restore");
    assertThat(cache.take(key, "sha-a", target)).contains(target);
    assertThat(Files.readString(target.resolve("core-1.img"))).isEqualTo("aaaaaaaaaa");
    assertThat(Files.size(target.resolve("pages-1.img"))).isEqualTo(90);
    assertThat(cache.bytes()).isZero();
    assertThat(cache.take(key, "sha-a", tmp.resolve("again"))).as("taken: moved out").isEmpty();
    assertThat(cache.hitsAndMisses()).containsExactly(1, 1);
  }

  @Test
  void anEntryWhoseImageWasReplacedInTheStoreIsDroppedNotUsed() throws IOException {
    ImageCache cache = cache(1000);
    ImageKey key = new ImageKey("wf", 3);
    cache.keep(key, "sha-old", dump("a", 100));
    assertThat(cache.take(key, "sha-new", tmp.resolve("restore"))).isEmpty();
    assertThat(tmp.resolve("restore")).doesNotExist();
    assertThat(cache.keys()).isEmpty();
    assertThat(tmp.resolve("cache/wf/3")).doesNotExist();
  }

  @Test
  void aNewerImageOfAWorkflowReplacesItsOlderOnes() throws IOException {
    ImageCache cache = cache(1000);
    cache.keep(new ImageKey("wf", 1), "1", dump("a", 100));
    cache.keep(new ImageKey("other", 1), "o", dump("b", 100));
    cache.keep(new ImageKey("wf", 2), "2", dump("c", 100));
    assertThat(cache.keys()).containsExactly(new ImageKey("other", 1), new ImageKey("wf", 2));
    assertThat(tmp.resolve("cache/wf/1")).doesNotExist();
    assertThat(cache.bytes()).isEqualTo(200);
  }

  @Test
  void theLeastRecentImagesAreEvictedToStayWithinTheBound() throws IOException {
    List<ImageKey> forRoom = new ArrayList<>();
    ImageCache cache = new ImageCache(tmp.resolve("cache"), 250, forRoom::add);
    cache.keep(new ImageKey("a", 1), "a", dump("a", 100));
    cache.keep(new ImageKey("b", 1), "b", dump("b", 100));
    cache.keep(new ImageKey("c", 1), "c", dump("c", 100));
    assertThat(cache.keys()).containsExactly(new ImageKey("b", 1), new ImageKey("c", 1));
    assertThat(cache.bytes()).isEqualTo(200);
    assertThat(tmp.resolve("cache/a/1")).doesNotExist();
    assertThat(cache.take(new ImageKey("a", 1), "a", tmp.resolve("r"))).isEmpty();
    assertThat(forRoom).as("told of what was evicted for room, so its workflow's root can go").containsExactly(
        new ImageKey("a", 1));

    cache.keep(new ImageKey("b", 2), "b2", dump("d", 100)); // replaces b#1: not an eviction for room
    cache.drop("c"); // nor is a drop
    assertThat(forRoom).containsExactly(new ImageKey("a", 1));
    assertThat(cache.keys()).containsExactly(new ImageKey("b", 2));
  }

  @Test
  void anImageLargerThanTheCacheOrAnyImageWithTheCacheOffIsNotKept() throws IOException {
    ImageCache small = cache(50);
    Path big = dump("a", 100);
    assertThat(small.keep(new ImageKey("a", 1), "a", big)).isFalse();
    assertThat(big).as("left for the caller to delete").exists();

    ImageCache off = new ImageCache(tmp.resolve("off"), 0);
    assertThat(off.keep(new ImageKey("a", 1), "a", big)).isFalse();
    assertThat(off.take(new ImageKey("a", 1), "a", tmp.resolve("r"))).isEmpty();
    assertThatThrownBy(() -> new ImageCache(tmp.resolve("neg"), -1)).hasMessageContaining("negative");
  }

  @Test
  void aWorkflowThatEndedLeavesNothingCached() throws IOException {
    ImageCache cache = cache(1000);
    cache.keep(new ImageKey("done", 4), "d", dump("a", 100));
    cache.keep(new ImageKey("live", 1), "l", dump("b", 100));
    cache.drop("done");
    assertThat(cache.keys()).containsExactly(new ImageKey("live", 1));
    assertThat(tmp.resolve("cache/done/4")).doesNotExist();
    assertThat(cache.bytes()).isEqualTo(100);
  }
}
