package dev.torpor.launcher.cli;

import dev.torpor.WorkflowId;
import java.net.http.HttpRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Cancels a workflow. */
@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = "Cancels a workflow: a pending one never starts, a running one's JVM is killed, a suspended one is"
        + " never woken. Cancelling a finished workflow is a conflict (exit 4).")
public final class CancelCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Parameters(index = "0", paramLabel = "ID", description = "The workflow.")
  String id;

  @Override
  int call(ApiClient api) {
    WorkflowId workflow = WorkflowId.of(id);
    ApiClient.Reply reply = api.post(ApiClient.path("v1", "workflows", workflow.value(), "cancel"), HttpRequest.BodyPublishers.noBody(),
        "application/json");
    if (output.json()) {
      printJson(reply);
    } else {
      out().println("cancelled " + workflow.value());
    }
    return 0;
  }
}
