package dev.torpor.launcher.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.torpor.scheduler.WorkflowView;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Lists workflows, newest first. */
@Command(name = "list", mixinStandardHelpOptions = true, description = "Lists workflows, newest first.")
public final class ListCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Option(names = "--state", paramLabel = "STATE",
      description = "Only workflows in this state: PENDING, RUNNING, SUSPENDED, COMPLETED, FAILED or CANCELLED.")
  String state;

  @Option(names = "--waiting-on", paramLabel = "timer|signal", description = "Only suspended workflows waiting on a timer or a signal.")
  String waitingOn;

  @Option(names = "--limit", paramLabel = "N", description = "At most N workflows (server default: 100).")
  Integer limit;

  @Override
  int call(ApiClient api) {
    Map<String, Object> q = new LinkedHashMap<>();
    q.put("state", state);
    q.put("waitingOn", waitingOn);
    q.put("limit", limit);
    ApiClient.Reply reply = api.get(ApiClient.path("v1", "workflows") + ApiClient.query(q));
    if (output.json()) {
      printJson(reply);
    } else {
      out().print(ViewText.table(reply.as(new TypeReference<List<WorkflowView>>() {})));
      out().flush();
    }
    return 0;
  }
}
