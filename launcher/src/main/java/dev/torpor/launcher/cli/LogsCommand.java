package dev.torpor.launcher.cli;

import dev.torpor.WorkflowId;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Copies a workflow's output (stdout and stderr) to stdout, byte for byte. */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = {
      "Prints a workflow's output (its stdout and stderr, across every checkpoint) byte for byte.",
      "With --follow, keeps printing as it grows until the workflow has finished."
    })
public final class LogsCommand extends ApiCommand {
  static final long POLL_MILLIS = 200;

  @Parameters(index = "0", paramLabel = "ID", description = "The workflow.")
  String id;

  @Option(names = {"-f", "--follow"}, description = "Poll for new output until the workflow has finished.")
  boolean follow;

  @Override
  int call(ApiClient api) throws IOException, InterruptedException {
    WorkflowId workflow = WorkflowId.of(id);
    long offset = 0;
    while (true) {
      ApiClient.Reply reply = api.get(ApiClient.path("v1", "workflows", workflow.value(), "logs") + ApiClient.query(Map.of("offset", offset)));
      byte[] data = reply.body();
      if (data.length > 0) {
        BytePrintWriter.writeRaw(out(), data);
      }
      offset = Math.max(offset + data.length, header(reply, "X-Torpor-Next-Offset"));
      boolean finished = reply.headers().firstValue("X-Torpor-Finished").map("true"::equalsIgnoreCase).orElse(false);
      if (data.length > 0) {
        continue; // there may be more right away
      }
      if (!follow || finished) {
        return 0;
      }
      TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
    }
  }

  private static long header(ApiClient.Reply reply, String name) {
    String v = reply.headers().firstValue(name)
        .orElseThrow(() -> new ApiClient.Failure(ExitCodes.FAILURE, "the server's log answer has no " + name + " header"));
    try {
      return Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      throw new ApiClient.Failure(ExitCodes.FAILURE, "the server's " + name + " header is not a number: " + v);
    }
  }
}
