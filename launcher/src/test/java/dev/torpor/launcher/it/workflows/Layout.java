package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Prints its process's personality and where libjvm.so is mapped, waits on a one-second timer (a
 * checkpoint), and prints them again: what {@code --no-aslr} changes, and that CRIU keeps it.
 */
public final class Layout {
  private Layout() {}

  public static void main(String[] args) throws IOException {
    System.out.println("before " + layout());
    Durable.waitFor(Duration.ofSeconds(1));
    System.out.println("after " + layout());
  }

  private static String layout() throws IOException {
    String personality = Files.readString(Path.of("/proc/self/personality")).strip();
    String libjvm = Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.endsWith("/libjvm.so"))
        .map(l -> l.substring(0, l.indexOf('-'))).findFirst().orElse("none");
    return "personality=" + personality + " libjvm=" + libjvm;
  }
}
