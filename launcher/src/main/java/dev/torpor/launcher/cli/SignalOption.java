package dev.torpor.launcher.cli;

import dev.torpor.SignalName;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A {@code NAME=PAYLOAD} or {@code NAME=@file} command-line signal. */
record SignalOption(SignalName name, byte[] payload) {
  /** The largest signal payload accepted. */
  static final int MAX_PAYLOAD = 1 << 20;

  static SignalOption parse(String text) {
    int eq = text.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("signal '" + text + "' must look like NAME=PAYLOAD or NAME=@file");
    }
    SignalName name = SignalName.of(text.substring(0, eq));
    String value = text.substring(eq + 1);
    byte[] payload;
    if (value.startsWith("@")) {
      try {
        payload = Files.readAllBytes(Path.of(value.substring(1)));
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the payload of signal '" + name + "' from " + value.substring(1) + ": " + e.getMessage());
      }
    } else {
      payload = value.getBytes(StandardCharsets.UTF_8);
    }
    if (payload.length > MAX_PAYLOAD) {
      throw new IllegalArgumentException("the payload of signal '" + name + "' is " + payload.length
          + " bytes; the limit is " + MAX_PAYLOAD + " (1 MiB): keep large data elsewhere and send a reference");
    }
    return new SignalOption(name, payload);
  }
}
