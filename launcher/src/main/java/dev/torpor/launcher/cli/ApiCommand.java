package dev.torpor.launcher.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.torpor.launcher.http.Json;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that talks to the Torpor server. A refused request or an unreachable server ends the
 * command with "torpor: " and the reason on stderr and the exit code of {@link ExitCodes};
 * bad local input is an IllegalArgumentException (exit 2, mapped by {@link TorporCommand}).
 */
abstract class ApiCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ServerOptions serverOptions;

  @Override
  public final Integer call() throws Exception {
    ApiClient api = serverOptions.client();
    try {
      return call(api);
    } catch (ApiClient.Failure f) {
      err().println("torpor: " + f.getMessage());
      err().flush();
      return f.exitCode();
    }
  }

  /** The command's work; returns its exit code. */
  abstract int call(ApiClient api) throws Exception;

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Prints the server's JSON answer, pretty, on stdout. */
  void printJson(ApiClient.Reply reply) {
    try {
      out().println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(reply.json()));
    } catch (JsonProcessingException e) {
      throw new ApiClient.Failure(ExitCodes.FAILURE, "cannot print the server's answer: " + e.getOriginalMessage());
    }
    out().flush();
  }
}
