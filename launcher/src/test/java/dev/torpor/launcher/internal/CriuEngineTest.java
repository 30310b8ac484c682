package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriuEngineTest {
  @TempDir Path tmp;

  @Test
  void compareVersionsTreatsMissingPartsAsZero() {
    assertThat(CriuEngine.compareVersions("4.2", "4.2.1")).isNegative();
    assertThat(CriuEngine.compareVersions("4.2.1", "4.2")).isPositive();
    assertThat(CriuEngine.compareVersions("4.2", "4.2.0")).isZero();
    assertThat(CriuEngine.compareVersions("4.2", "4.2")).isZero();
  }

  @Test
  void compareVersionsComparesPartsAsNumbers() {
    assertThat(CriuEngine.compareVersions("4.10", "4.9")).isPositive();
    assertThat(CriuEngine.compareVersions("4.9", "4.10")).isNegative();
    assertThat(CriuEngine.compareVersions("3.17.1", "4.2")).isNegative();
    assertThat(CriuEngine.compareVersions("4.2", "3.17.1")).isPositive();
    assertThat(CriuEngine.compareVersions("10.0", "9.99.99")).isPositive();
  }

  @Test
  void locateFindsCriuOfAtLeastMinimumVersion() {
    CriuEngine criu = CriuEngine.locate();

    assertThat(CriuEngine.compareVersions(criu.version(), CriuEngine.MIN_VERSION))
        .as("CRIU %s at %s", criu.version(), criu.binary())
        .isGreaterThanOrEqualTo(0);
    assertThat(criu.binary()).isExecutable();
    assertThat(criu.describe()).containsEntry("name", "criu").containsEntry("version", criu.version());
  }

  @Test
  void versionOfReadsVersionLine() throws IOException {
    Path fake = script("fake-criu", "#!/bin/sh\necho 'Version: 3.17.1'\necho 'GitID: v3.17.1'\n");

    assertThat(CriuEngine.versionOf(fake)).isEqualTo("3.17.1");
  }

  @Test
  void versionOfIsNullWhenCommandFails() throws IOException {
    Path failing = script("failing-criu", "#!/bin/sh\necho 'Version: 4.2'\nexit 3\n");

    assertThat(CriuEngine.versionOf(failing)).isNull();
    assertThat(CriuEngine.versionOf(tmp.resolve("missing"))).isNull();
  }

  private Path script(String name, String text) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
    return p;
  }
}
