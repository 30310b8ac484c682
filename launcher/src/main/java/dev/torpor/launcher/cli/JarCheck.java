package dev.torpor.launcher.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/** What {@code torpor submit} checks locally before uploading: a jar that holds the main class. */
final class JarCheck {
  private JarCheck() {}

  /** IllegalArgumentException naming the jar (and the class) unless {@code jar} is a jar holding {@code mainClass}. */
  static void check(Path jar, String mainClass, long maxBytes) {
    if (mainClass.isBlank() || mainClass.endsWith(".class") || mainClass.contains("/")) {
      throw new IllegalArgumentException("--main takes a class name such as com.acme.Main, not '" + mainClass + "'");
    }
    if (!Files.exists(jar)) {
      throw new IllegalArgumentException("the jar " + jar + " does not exist");
    }
    if (!Files.isRegularFile(jar)) {
      throw new IllegalArgumentException("the jar " + jar + " is not a regular file");
    }
    String entry = mainClass.replace('.', '/') + ".class";
    try {
      long size = Files.size(jar);
      if (size > maxBytes) {
        throw new IllegalArgumentException("the jar " + jar + " is " + size + " bytes; the server accepts at most "
            + maxBytes + " (" + (maxBytes >> 20) + " MiB)");
      }
      try (ZipFile zip = new ZipFile(jar.toFile())) {
        boolean found = zip.getEntry(entry) != null
            || zip.stream().anyMatch(e -> e.getName().startsWith("META-INF/versions/") && e.getName().endsWith("/" + entry));
        if (!found) {
          throw new IllegalArgumentException("class " + mainClass + " is not in " + jar + " (no entry " + entry
              + "): check --main and --jar");
        }
      }
    } catch (ZipException e) {
      throw new IllegalArgumentException(jar + " is not a jar (zip) file: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the jar " + jar + ": " + e.getMessage(), e);
    }
  }
}
