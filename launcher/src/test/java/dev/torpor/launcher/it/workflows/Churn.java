package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Builds {@code args[0]} MiB of arrays, keeps only a checksum of them, and waits one second: a
 * workflow that parsed something large before its wait. Prints its JVM's options (from {@code
 * /proc/self/cmdline}, without loading the management classes) and the checksum before and after
 * the wait; exits 1 if the checksum changed.
 */
public final class Churn {
  private Churn() {}

  public static void main(String[] args) throws Exception {
    int mib = Integer.parseInt(args[0]);
    String cmdline = new String(Files.readAllBytes(Path.of("/proc/self/cmdline")), StandardCharsets.UTF_8);
    System.out.println("options " + cmdline.replace('\0', ' ').replaceAll(" -cp .*", ""));
    byte[][] built = new byte[mib * 16][];
    long checksum = 0;
    for (int i = 0; i < built.length; i++) {
      built[i] = new byte[64 << 10];
      built[i][i % built[i].length] = (byte) (i * 7);
      checksum = checksum * 31 + built[(i * 13) % (i + 1)][i % built[i].length];
    }
    built = null;
    System.out.println("before checksum=" + checksum);
    Durable.waitFor(Duration.ofSeconds(1));
    System.out.println("after checksum=" + checksum);
  }
}
