package dev.torpor.launcher.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.torpor.WorkflowId;
import dev.torpor.scheduler.HistoryEvent;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Shows what happened to a workflow. */
@Command(name = "history", mixinStandardHelpOptions = true,
    description = "Shows a workflow's history: submitted, started, suspended, woken, resumed, signals, exit...")
public final class HistoryCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Parameters(index = "0", paramLabel = "ID", description = "The workflow.")
  String id;

  @Override
  int call(ApiClient api) {
    WorkflowId workflow = WorkflowId.of(id);
    ApiClient.Reply reply = api.get(ApiClient.path("v1", "workflows", workflow.value(), "history"));
    if (output.json()) {
      printJson(reply);
    } else {
      out().print(ViewText.history(reply.as(new TypeReference<List<HistoryEvent>>() {})));
      out().flush();
    }
    return 0;
  }
}
