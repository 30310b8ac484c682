package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The local check {@code torpor submit} makes before uploading anything. */
class SubmitJarCheckTest {
  @TempDir Path tmp;

  /** A jar with a manifest and the given entries (each holding a class file's magic number). */
  static Path jarWith(Path file, String... entries) throws IOException {
    Manifest mf = new Manifest();
    mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    try (OutputStream out = Files.newOutputStream(file); JarOutputStream jar = new JarOutputStream(out, mf)) {
      for (String e : entries) {
        jar.putNextEntry(new JarEntry(e));
        jar.write(new byte[] {(byte) 0xca, (byte) 0xfe, (byte) 0xba, (byte) 0xbe});
        jar.closeEntry();
      }
    }
    return file;
  }

  @Test
  void acceptsAJarHoldingTheMainClass() throws IOException {
    Path jar = jarWith(tmp.resolve("app.jar"), "com/acme/Main.class", "com/acme/Main$Inner.class");

    assertThatCode(() -> JarCheck.check(jar, "com.acme.Main", 1 << 20)).doesNotThrowAnyException();
    assertThatCode(() -> JarCheck.check(jar, "com.acme.Main$Inner", 1 << 20)).doesNotThrowAnyException();
  }

  @Test
  void acceptsAMainClassOnlyInAMultiReleaseVersion() throws IOException {
    Path jar = jarWith(tmp.resolve("mr.jar"), "META-INF/versions/17/com/acme/Main.class");

    assertThatCode(() -> JarCheck.check(jar, "com.acme.Main", 1 << 20)).doesNotThrowAnyException();
  }

  @Test
  void refusesAJarWithoutTheMainClassNamingClassAndJar() throws IOException {
    Path jar = jarWith(tmp.resolve("app.jar"), "com/acme/Main.class");

    assertThatThrownBy(() -> JarCheck.check(jar, "com.acme.Other", 1 << 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("class com.acme.Other is not in " + jar + " (no entry com/acme/Other.class): check --main and --jar");
  }

  @Test
  void refusesAFileThatIsNotAZip() throws IOException {
    Path notJar = Files.writeString(tmp.resolve("app.jar"), "just text");

    assertThatThrownBy(() -> JarCheck.check(notJar, "com.acme.Main", 1 << 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(notJar + " is not a jar (zip) file");
  }

  @Test
  void refusesAMissingJarAndADirectory() {
    assertThatThrownBy(() -> JarCheck.check(tmp.resolve("nope.jar"), "M", 1 << 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the jar " + tmp.resolve("nope.jar") + " does not exist");
    assertThatThrownBy(() -> JarCheck.check(tmp, "M", 1 << 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the jar " + tmp + " is not a regular file");
  }

  @Test
  void refusesAJarOverTheServersLimit() throws IOException {
    Path jar = jarWith(tmp.resolve("app.jar"), "com/acme/Main.class");

    assertThatThrownBy(() -> JarCheck.check(jar, "com.acme.Main", 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the server accepts at most 10");
  }

  @ParameterizedTest
  @ValueSource(strings = {"com/acme/Main.class", "com.acme.Main.class", " "})
  void refusesAMainThatIsNotAClassName(String main) throws IOException {
    Path jar = jarWith(tmp.resolve("app.jar"), "com/acme/Main.class");

    assertThatThrownBy(() -> JarCheck.check(jar, main, 1 << 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--main takes a class name such as com.acme.Main");
  }
}
