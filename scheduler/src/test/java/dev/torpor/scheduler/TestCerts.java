package dev.torpor.scheduler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority and a server certificate it signed for 127.0.0.1 and
 * localhost, made with the {@code openssl} command (Debian's openssl package; {@code
 * scripts/test.sh} installs it), as an operator would make them. Keys are PKCS#8 PEM, 0600.
 *
 * @param ca the CA's certificate (what clients trust)
 * @param cert the server's certificate, signed by {@code ca}
 * @param key the server's private key
 */
public record TestCerts(Path ca, Path cert, Path key) {
  /** Makes a CA named {@code name} and a server certificate under {@code dir}. */
  public static TestCerts make(Path dir, String name) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path caKey = dir.resolve(name + "-ca.key");
    Path ca = dir.resolve(name + "-ca.pem");
    Path key = dir.resolve(name + "-server.key");
    Path csr = dir.resolve(name + "-server.csr");
    Path cert = dir.resolve(name + "-server.pem");
    Path ext = Files.writeString(dir.resolve(name + "-ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc",
        "-keyout", caKey.toString(), "-out", ca.toString(), "-days", "2", "-subj", "/CN=" + name + " test CA");
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc",
        "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=localhost");
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
    return new TestCerts(ca, cert, key);
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "openssl", ".out");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + " failed (scripts/test.sh installs openssl): " + Files.readString(out));
    }
    Files.delete(out);
  }
}
