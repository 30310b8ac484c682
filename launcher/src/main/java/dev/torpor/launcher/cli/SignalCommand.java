package dev.torpor.launcher.cli;

import dev.torpor.SignalName;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.IdempotencyKey;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Sends a signal to a workflow through the server. */
@Command(
    name = "signal",
    mixinStandardHelpOptions = true,
    description = {
      "Sends a signal to a workflow. It is kept until the workflow waits for a signal of that name and is",
      "delivered exactly once, in order per name. The payload is at most 1 MiB. A lost answer (timeout, dropped",
      "connection) is retried under the same idempotency key, so the signal is stored once."
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

  @Option(names = "--idempotency-key", paramLabel = "KEY",
      description = {"Names this signal, so that sending it again under the same KEY (same name and payload) stores",
        "nothing and answers the same: use it to retry a signal whose answer you did not get. 1 to 128 printable",
        "ASCII characters without spaces. Default: a random key per invocation, reused by torpor's own retries."})
  String idempotencyKey;

  @Override
  int call(ApiClient api) {
    WorkflowId workflow = WorkflowId.of(id);
    String key = idempotencyKey != null ? IdempotencyKey.check(idempotencyKey) : UUID.randomUUID().toString();
    SignalName signal = SignalName.of(name);
    byte[] data = SignalPayload.read(signal, payload, System.in);
    ApiClient.Reply reply = api.postIdempotent(ApiClient.path("v1", "workflows", workflow.value(), "signals", signal.value()), data,
        "application/octet-stream", key, err());
    if (output.json()) {
      printJson(reply);
    } else {
      boolean duplicate = reply.json().path("duplicate").asBoolean(false);
      out().println("signal '" + signal.value() + "' (" + data.length + " bytes) " + (duplicate ? "was already queued" : "queued")
          + " for " + workflow.value() + (idempotencyKey != null ? " (idempotency key " + key + ")" : ""));
    }
    return 0;
  }
}
