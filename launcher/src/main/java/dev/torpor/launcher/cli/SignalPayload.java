package dev.torpor.launcher.cli;

import dev.torpor.SignalName;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The payload of {@code torpor signal}: none, text, {@code @file} or {@code -} (stdin), at most 1 MiB. */
final class SignalPayload {
  private SignalPayload() {}

  /**
   * Reads the payload named by {@code source}, never more than the limit plus one byte.
   *
   * @param name the signal's name, for messages
   * @param source null (empty payload), {@code -} (stdin), {@code @file}, or the payload text
   */
  static byte[] read(SignalName name, String source, InputStream stdin) {
    int limit = SignalOption.MAX_PAYLOAD;
    if (source == null) {
      return new byte[0];
    }
    byte[] payload;
    if (source.equals("-")) {
      try {
        payload = stdin.readNBytes(limit + 1);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the payload of signal '" + name + "' from stdin: " + e.getMessage(), e);
      }
      if (payload.length > limit) {
        throw tooLarge(name, "more than " + limit);
      }
      return payload;
    }
    if (source.startsWith("@")) {
      Path file = Path.of(source.substring(1));
      try {
        long size = Files.size(file);
        if (size > limit) {
          throw tooLarge(name, Long.toString(size));
        }
        payload = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the payload of signal '" + name + "' from " + file + ": " + e, e);
      }
    } else {
      payload = source.getBytes(StandardCharsets.UTF_8);
    }
    if (payload.length > limit) {
      throw tooLarge(name, Integer.toString(payload.length));
    }
    return payload;
  }

  private static IllegalArgumentException tooLarge(SignalName name, String size) {
    return new IllegalArgumentException("the payload of signal '" + name + "' is " + size + " bytes; the limit is "
        + SignalOption.MAX_PAYLOAD + " (1 MiB): keep large data elsewhere and send a reference");
  }
}
