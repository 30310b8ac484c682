package dev.torpor.launcher.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.WorkflowId;
import dev.torpor.launcher.http.Images;
import dev.torpor.launcher.http.Json;
import dev.torpor.scheduler.WorkflowView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Shows one workflow. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = "Shows a workflow: state, seq, what it waits for and until when, image size, pending signals,"
        + " exit code or error, and the stack of the waiting thread.")
public final class StatusCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Parameters(index = "0", paramLabel = "ID", description = "The workflow.")
  String id;

  @Override
  int call(ApiClient api) {
    WorkflowId workflow = WorkflowId.of(id);
    ApiClient.Reply reply = api.get(ApiClient.path("v1", "workflows", workflow.value()));
    if (output.json()) {
      printJson(reply);
    } else {
      JsonNode json = reply.json();
      Images.Summary images = json.path("images").isObject()
          ? Json.mapper().convertValue(json.get("images"), Images.Summary.class) : null;
      out().print(ViewText.status(reply.as(WorkflowView.class), images));
      if (json.hasNonNull("imagesError")) {
        out().println("images:          unknown: " + json.get("imagesError").asText());
      }
      out().flush();
    }
    return 0;
  }
}
