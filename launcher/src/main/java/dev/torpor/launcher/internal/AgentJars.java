package dev.torpor.launcher.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.torpor.storage.ContentAddressed;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The agent's jars (torpor-agent and org.crac), which the launcher carries as resources and
 * extracts to a content-addressed path, so that a workflow JVM finds the same files at the
 * same paths at every restore, and never sees the launcher's own dependencies.
 */
final class AgentJars {
  private static final String[] JARS = {"torpor-agent.jar", "crac.jar"};

  private AgentJars() {}

  static List<Path> extract(Path libDir) throws IOException {
    List<Path> out = new ArrayList<>();
    for (String name : JARS) {
      byte[] bytes;
      try (InputStream in = AgentJars.class.getResourceAsStream("/dev/torpor/launcher/agent/" + name)) {
        if (in == null) {
          throw new IOException("the launcher lacks its embedded " + name + ": rebuild it with `mvn package`");
        }
        bytes = in.readAllBytes();
      }
      String hash = HexFormat.of().formatHex(ImagePacker.sha256().digest(bytes)).substring(0, 16);
      Path target = libDir.resolve(hash).resolve(name);
      if (!Files.exists(target)) {
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), name, ".tmp");
        Files.write(tmp, bytes);
        PrivateDirs.setMode(tmp, 0644, -1); // read through a bind mount by the workflow user
        ContentAddressed.publish(tmp, target);
      }
      out.add(target);
    }
    return out;
  }
}
