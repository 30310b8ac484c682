package dev.torpor.launcher.internal;

import dev.torpor.storage.ImageManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Whether this machine can restore an image: CRIU restores the JVM's memory as it was, so the
 * JDK must be the same build at the same path, and the CPU must have every instruction-set
 * feature the dumped JVM may have chosen code for at its start. A worker that cannot restore
 * an image declines it, saying why, instead of letting CRIU or the JVM fail in obscure ways.
 */
final class ImageCompatibility {
  /**
   * The CPU features a JVM's generated code and intrinsics may depend on. Flags outside this set
   * (virtualisation, power management, bug markers) differ between hosts without harm.
   */
  static final Pattern INSTRUCTION_SET = Pattern.compile(
      "sse.*|ssse3|avx.*|aes|vaes|pclmulqdq|vpclmulqdq|bmi1|bmi2|adx|sha_ni|fma|f16c|popcnt|abm|lzcnt|erms|fsrm"
          + "|clflushopt|clwb|cx8|cx16|cmov|movbe|gfni|rdrand|rdseed|rdtscp|serialize");

  private ImageCompatibility() {}

  /**
   * Why a worker that runs workflows on the JDK at {@code workerJavaHome} cannot restore the image
   * described by {@code m}, or empty if it can. A worker restores only images of its own JDK: a
   * JVM restores onto the very build it was dumped from, and an operator who gives a worker another
   * JDK means it to run that one.
   */
  static Optional<String> problem(ImageManifest m, List<String> localCpuFlags, Path workerJavaHome) {
    Map<String, String> jdk = m.jdk();
    if (jdk != null && jdk.get("home") != null
        && !Path.of(jdk.get("home")).toAbsolutePath().normalize().equals(workerJavaHome.toAbsolutePath().normalize())) {
      Map<String, String> mine = SystemFacts.jdk(workerJavaHome);
      return Optional.of("the image was dumped by JDK " + jdk.getOrDefault("vendor", "?") + " " + jdk.getOrDefault("version", "?")
          + " at " + jdk.get("home") + ", but this worker runs workflows on JDK " + mine.get("vendor") + " "
          + mine.get("version") + " at " + workerJavaHome + "; a worker with that JDK restores it");
    }
    return problem(m, localCpuFlags);
  }

  /** Why this machine cannot restore the image described by {@code m}, or empty if it can. */
  static Optional<String> problem(ImageManifest m, List<String> localCpuFlags) {
    Map<String, String> jdk = m.jdk();
    if (jdk != null && jdk.get("home") != null) {
      Path home = Path.of(jdk.get("home"));
      String dumped = jdk.getOrDefault("vendor", "?") + " " + jdk.getOrDefault("version", "?");
      if (!Files.isRegularFile(home.resolve("release"))) {
        return Optional.of("the image was dumped by JDK " + dumped + " at " + home + ", which this worker does not have;"
            + " install that JDK build at that path, or let a worker that has it restore the image");
      }
      Map<String, String> here = SystemFacts.jdk(home);
      if (!here.get("version").equals(jdk.get("version")) || !here.get("vendor").equals(jdk.get("vendor"))) {
        return Optional.of("the image was dumped by JDK " + dumped + " at " + home + ", but that path holds JDK "
            + here.get("vendor") + " " + here.get("version") + " on this worker; a JVM restores only onto its own build");
      }
    }
    if (m.cpuFlags() != null && !localCpuFlags.isEmpty()) {
      List<String> missing = m.cpuFlags().stream()
          .filter(f -> INSTRUCTION_SET.matcher(f).matches())
          .filter(f -> !localCpuFlags.contains(f))
          .sorted()
          .toList();
      if (!missing.isEmpty()) {
        return Optional.of("this worker's CPU lacks " + missing + ", which the image's JVM may use; restore it on a"
            + " worker with those features");
      }
    }
    return Optional.empty();
  }
}
