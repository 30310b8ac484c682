package dev.torpor.launcher.cli;

import dev.torpor.WorkflowId;
import java.net.http.HttpRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Wakes a workflow waiting on a timer now. */
@Command(
    name = "wake",
    mixinStandardHelpOptions = true,
    description = "Wakes a workflow waiting on a timer now, instead of when it falls due. A workflow that is not"
        + " suspended on a timer is a conflict (exit 4).")
public final class WakeCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Parameters(index = "0", paramLabel = "ID", description = "The workflow.")
  String id;

  @Override
  int call(ApiClient api) {
    WorkflowId workflow = WorkflowId.of(id);
    ApiClient.Reply reply = api.post(ApiClient.path("v1", "workflows", workflow.value(), "wake"), HttpRequest.BodyPublishers.noBody(),
        "application/json");
    if (output.json()) {
      printJson(reply);
    } else {
      out().println("waking " + workflow.value());
    }
    return 0;
  }
}
