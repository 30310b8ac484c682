package dev.torpor.launcher.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the Torpor server is and how to authenticate, shared by the commands that talk to it. */
public final class ServerOptions {
  @Option(
      names = "--server",
      defaultValue = "${TORPOR_SERVER:-http://127.0.0.1:7777}",
      description = "URL of the Torpor server (env TORPOR_SERVER; default: ${DEFAULT-VALUE}).")
  String server;

  @Option(
      names = "--token-file",
      defaultValue = "${TORPOR_TOKEN_FILE}",
      description = "File holding the server's API token (env TORPOR_TOKEN_FILE; the environment variable TORPOR_TOKEN"
          + " may hold the token itself; default: <data>/api-token of the default data directory, ${TORPOR_DATA} or"
          + " ~/.torpor, which the server makes at its first start, readable by its user only).")
  Path tokenFile;

  @Option(
      names = "--ca-file",
      defaultValue = "${TORPOR_CA_FILE}",
      description = "CA certificates (PEM) to trust for an https:// server, instead of the JDK's (env TORPOR_CA_FILE).")
  Path caFile;

  ApiClient client() {
    String data = System.getenv("TORPOR_DATA");
    Path defaultData = data != null && !data.isBlank() ? Path.of(data) : Path.of(System.getProperty("user.home"), ".torpor");
    ApiToken.Found token = ApiToken.forClient(System.getenv("TORPOR_TOKEN"), tokenFile, defaultData.resolve(ApiToken.FILE));
    return ApiClient.of(server, token, caFile);
  }
}
