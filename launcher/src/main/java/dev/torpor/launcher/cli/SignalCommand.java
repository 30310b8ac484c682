package dev.torpor.launcher.cli;

import dev.torpor.storage.ImageKey;
import java.net.http.HttpRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Sends a signal to a workflow through the server. */
@Command(
    name = "signal",
    mixinStandardHelpOptions = true,
    description = {
      "Sends a signal to a workflow. It is kept until the workflow waits for a signal of that name and is",
      "delivered exactly once, in order per name. The payload is at most 1 MiB."
    })
public final class SignalCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Parameters(index = "0", paramLabel = "ID", description = "The workflow.")
  String id;

  @Parameters(index = "1", paramLabel = "NAME", description = "The signal's name.")
  String name;

  @Parameters(index = "2", arity = "0..1", paramLabel = "PAYLOAD",
      description = "The payload: text, @file for a file's bytes, or - for stdin. Default: empty.")
  String payload;

  @Override
  int call(ApiClient api) {
    ImageKey.checkWorkflowId(id);
    byte[] data = SignalPayload.read(name, payload, System.in);
    ApiClient.Reply reply = api.post(ApiClient.path("v1", "workflows", id, "signals", name),
        HttpRequest.BodyPublishers.ofByteArray(data), "application/octet-stream");
    if (output.json()) {
      printJson(reply);
    } else {
      out().println("signal '" + name + "' (" + data.length + " bytes) queued for " + id);
    }
    return 0;
  }
}
