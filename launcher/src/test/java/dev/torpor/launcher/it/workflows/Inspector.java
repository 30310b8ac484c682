package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Reports who it runs as and what of the host it can reach, before and after a checkpoint:
 * {@code <phase> ids Uid: .. Gid: .. CapEff: ..}, one {@code <phase> probe <path> READ|DENIED ...}
 * line per path argument after the first (a directory is listed, a file read), and {@code <phase>
 * env NAME,NAME,...}. The first argument is a marker it keeps in its heap, so that a test can find
 * it in the image. Waits for the signal {@code go} in between.
 */
public final class Inspector {
  private Inspector() {}

  public static void main(String[] args) throws IOException {
    String marker = "INSPECTOR-HEAP-" + args[0];
    String[] probes = Arrays.copyOfRange(args, 1, args.length);
    report("before", probes);
    Durable.awaitSignal("go");
    report("after", probes);
    System.out.println("marker " + marker.length());
  }

  private static void report(String phase, String[] probes) throws IOException {
    String ids = Files.readAllLines(Path.of("/proc/self/status")).stream()
        .filter(l -> l.startsWith("Uid:") || l.startsWith("Gid:") || l.startsWith("Groups:") || l.startsWith("CapEff:"))
        .map(l -> l.replaceAll("\\s+", " ").strip()).collect(Collectors.joining(" "));
    System.out.println(phase + " ids " + ids);
    for (String p : probes) {
      System.out.println(phase + " probe " + p + " " + probe(Path.of(p)));
    }
    System.out.println(phase + " env " + String.join(",", new TreeSet<>(System.getenv().keySet())));
    System.out.println(phase + " env PLAN=" + System.getenv("PLAN"));
  }

  private static String probe(Path p) {
    try {
      if (Files.isDirectory(p)) {
        try (Stream<Path> list = Files.list(p)) {
          return "READ " + list.map(e -> e.getFileName().toString()).sorted().collect(Collectors.joining(","));
        }
      }
      return "READ " + Files.readAllBytes(p).length + " bytes";
    } catch (IOException | SecurityException e) {
      return "DENIED " + e.getClass().getSimpleName();
    }
  }
}
