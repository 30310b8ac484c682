package dev.torpor.launcher.cli;

import picocli.CommandLine.Option;

/** Where the Torpor server is and how to authenticate, shared by the commands that talk to it. */
public final class ServerOptions {
  @Option(
      names = "--server",
      defaultValue = "${TORPOR_SERVER:-http://127.0.0.1:7777}",
      description = "URL of the Torpor server (env TORPOR_SERVER; default: ${DEFAULT-VALUE}).")
  String server;

  @Option(
      names = "--token",
      defaultValue = "${TORPOR_TOKEN}",
      description = "Bearer token the server wants (env TORPOR_TOKEN; prefer the environment: arguments are"
          + " visible to other users of this machine).")
  String token;

  ApiClient client() {
    return ApiClient.of(server, token);
  }
}
