package dev.torpor.launcher.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * A UTF-8 {@link PrintWriter} over a byte stream that {@code torpor logs} can also write raw bytes
 * to. Give one to {@code CommandLine.setOut} to capture a command's stdout byte for byte; with
 * picocli's own writer, raw bytes go to {@link System#out}.
 */
public final class BytePrintWriter extends PrintWriter {
  private final OutputStream bytes;

  public BytePrintWriter(OutputStream bytes) {
    super(new OutputStreamWriter(bytes, StandardCharsets.UTF_8), true);
    this.bytes = bytes;
  }

  /** Writes {@code data} as is to the byte stream behind {@code out}, after what was printed to it. */
  static void writeRaw(PrintWriter out, byte[] data) throws IOException {
    out.flush();
    OutputStream os = out instanceof BytePrintWriter b ? b.bytes : System.out;
    os.write(data);
    os.flush();
  }
}
