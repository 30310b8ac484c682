package dev.torpor.launcher.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** Facts about this machine and a JDK that a manifest records, for restore compatibility. */
public final class SystemFacts {
  private SystemFacts() {}

  /** vendor, version and home of the JDK at {@code home}, from its {@code release} file. */
  public static Map<String, String> jdk(Path home) {
    Map<String, String> m = new LinkedHashMap<>();
    Properties p = new Properties();
    try (var in = Files.newBufferedReader(home.resolve("release"), StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (IOException e) {
      m.put("release", "unreadable: " + e.getMessage());
    }
    m.put("vendor", unquote(p.getProperty("IMPLEMENTOR", "unknown")));
    m.put("version", unquote(p.getProperty("JAVA_RUNTIME_VERSION", p.getProperty("JAVA_VERSION", "unknown"))));
    m.put("home", home.toString());
    return m;
  }

  /** The CPU feature flags of this machine (the first processor in /proc/cpuinfo). */
  public static List<String> cpuFlags() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
        if (line.startsWith("flags")) {
          return Arrays.stream(line.substring(line.indexOf(':') + 1).trim().split("\\s+")).sorted().toList();
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    return List.of();
  }

  private static String unquote(String s) {
    return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
  }

  /** This machine's host name, for logs and the cluster's list of workers. */
  public static String hostName() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
