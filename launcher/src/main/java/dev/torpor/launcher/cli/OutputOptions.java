package dev.torpor.launcher.cli;

import picocli.CommandLine.Option;

/** {@code --output text|json}, shared by the commands that print what the server answered. */
public final class OutputOptions {
  /** How to print an answer. */
  enum Format {
    /** Lines and tables for people. */
    text,
    /** The server's JSON, pretty-printed, for scripts. */
    json
  }

  @Option(
      names = {"-o", "--output"},
      defaultValue = "text",
      description = "text (default): readable lines; json: exactly the server's JSON, pretty-printed.")
  Format format = Format.text;

  boolean json() {
    return format == Format.json;
  }
}
