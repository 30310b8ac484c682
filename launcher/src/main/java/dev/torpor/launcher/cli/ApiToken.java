package dev.torpor.launcher.cli;

import dev.torpor.TorporException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The API token: where a server gets it and where the CLI finds it. A server uses {@code
 * --token-file}, else {@code TORPOR_TOKEN}, else {@code <data>/api-token}, which it creates at its
 * first start (32 random bytes, 0600). The CLI uses {@code TORPOR_TOKEN}, else {@code
 * --token-file}, else the same {@code <data>/api-token} of the default data directory, which only
 * the server's user can read: on the server's machine, as that user, nothing needs configuring.
 */
final class ApiToken {
  /** The name of the token file in a data directory. */
  static final String FILE = "api-token";

  private ApiToken() {}

  /** A token and where it came from (for messages), or none and why. */
  record Found(String token, String source) {
    boolean present() {
      return token != null;
    }
  }

  /** The server's token: {@code tokenFile}, else {@code fromEnv}, else {@code <data>/api-token} (made if missing). */
  static Found forServer(Path data, Path tokenFile, String fromEnv, java.io.PrintWriter err) throws IOException {
    if (tokenFile != null) {
      return new Found(readTokenFile(tokenFile, err), tokenFile.toString());
    }
    if (fromEnv != null && !fromEnv.isBlank()) {
      return new Found(fromEnv.strip(), "TORPOR_TOKEN");
    }
    Path file = data.resolve(FILE);
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      byte[] secret = new byte[32];
      new SecureRandom().nextBytes(secret);
      Files.writeString(file, Base64.getUrlEncoder().withoutPadding().encodeToString(secret) + "\n", StandardCharsets.US_ASCII);
    } catch (FileAlreadyExistsException e) {
      // made at an earlier start
    }
    return new Found(readTokenFile(file, err), file.toString());
  }

  /** A token file's content: refused when it is a link, empty, or readable by others (then it is tightened first). */
  static String readTokenFile(Path file, java.io.PrintWriter err) throws IOException {
    if (Files.isSymbolicLink(file)) {
      throw new TorporException("the token file " + file + " is a symbolic link: give the file itself");
    }
    int mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    if ((mode & 077) != 0) {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      err.println("torpor: warning: the token file " + file + " could be read by others (mode "
          + Integer.toOctalString(mode & 0777) + "); it is 0600 now: if others had read it, replace the token");
      err.flush();
    }
    String token = Files.readString(file, StandardCharsets.UTF_8).strip();
    if (token.isEmpty() || token.contains("\n")) {
      throw new TorporException("the token file " + file + " must hold one line, the token");
    }
    return token;
  }

  /** The CLI's token: {@code fromEnv}, else {@code tokenFile}, else {@code defaultFile} when it can be read. */
  static Found forClient(String fromEnv, Path tokenFile, Path defaultFile) {
    if (fromEnv != null && !fromEnv.isBlank()) {
      return new Found(fromEnv.strip(), "TORPOR_TOKEN");
    }
    Path file = tokenFile != null ? tokenFile : defaultFile;
    try {
      String token = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (token.isEmpty()) {
        return new Found(null, file + " is empty");
      }
      return new Found(token, file.toString());
    } catch (AccessDeniedException e) {
      if (tokenFile != null) {
        throw new IllegalArgumentException("cannot read the token file " + file + ": permission denied");
      }
      return new Found(null, "you may not read " + file + " (only the server's user may)");
    } catch (NoSuchFileException e) {
      if (tokenFile != null) {
        throw new IllegalArgumentException("the token file " + file + " does not exist");
      }
      return new Found(null, "TORPOR_TOKEN is not set, no --token-file was given, and there is no " + file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the token file " + file + ": " + e.getMessage(), e);
    }
  }
}
