package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.TestManifests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks a worker makes before it restores an image, against real JDK homes. */
class ImageCompatibilityTest {
  private static final Path THIS_JDK = Path.of(System.getProperty("java.home"));
  private static final List<String> FLAGS = List.of("aes", "avx", "avx2", "hypervisor", "sse4_2");

  private static ImageManifest dumpedBy(Map<String, String> jdk, List<String> cpuFlags) {
    ImageManifest m = TestManifests.aManifest(new ImageKey("wf", 1), new byte[] {1});
    return new ImageManifest(m.format(), m.workflowId(), m.seq(), m.createdAt(), m.sha256(), m.rawBytes(), m.packedBytes(),
        m.compression(), m.engine(), jdk, cpuFlags, m.waitFor(), m.restore(), m.timingsMillis(), null, null, m.chunks());
  }

  @Test
  void theSameJdkAndCpuRestore() {
    assertThat(ImageCompatibility.problem(dumpedBy(SystemFacts.jdk(THIS_JDK), FLAGS), FLAGS)).isEmpty();
    assertThat(ImageCompatibility.problem(dumpedBy(SystemFacts.jdk(THIS_JDK), SystemFacts.cpuFlags()), SystemFacts.cpuFlags()))
        .as("this machine restores what it dumps").isEmpty();
  }

  @Test
  void aJdkMissingHereIsDeclinedNamingIt() {
    Map<String, String> jdk = Map.of("vendor", "Eclipse Adoptium", "version", "25.0.1+8-LTS", "home", "/opt/no-such-jdk");
    assertThat(ImageCompatibility.problem(dumpedBy(jdk, FLAGS), FLAGS)).get().asString()
        .contains("Eclipse Adoptium 25.0.1+8-LTS").contains("/opt/no-such-jdk").contains("does not have");
  }

  @Test
  void anotherBuildAtTheSamePathIsDeclined(@TempDir Path home) throws Exception {
    Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Acme\"\nJAVA_RUNTIME_VERSION=\"17.0.99+1\"\n");
    Map<String, String> jdk = Map.of("vendor", "Acme", "version", "17.0.15+6", "home", home.toString());
    assertThat(ImageCompatibility.problem(dumpedBy(jdk, FLAGS), FLAGS)).get().asString()
        .contains("17.0.15+6").contains("17.0.99+1").contains("its own build");
  }

  @Test
  void aCpuWithoutAnInstructionSetFeatureIsDeclinedButOtherFlagsDoNotMatter() {
    Map<String, String> jdk = SystemFacts.jdk(THIS_JDK);
    List<String> dumpedOn = List.of("aes", "avx", "avx2", "avx512f", "hypervisor", "sse4_2", "constant_tsc");
    assertThat(ImageCompatibility.problem(dumpedBy(jdk, dumpedOn), FLAGS)).get().asString()
        .contains("[avx512f]").doesNotContain("constant_tsc");
    assertThat(ImageCompatibility.problem(dumpedBy(jdk, List.of("aes", "constant_tsc", "hypervisor")), FLAGS)).isEmpty();
  }
}
