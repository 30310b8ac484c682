package dev.torpor.launcher.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.torpor.WorkflowId;
import dev.torpor.launcher.http.HttpApi;
import dev.torpor.launcher.internal.WorkflowEnv;
import java.io.FileNotFoundException;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Uploads an application jar and submits a workflow to the server. */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = {
      "Uploads the application jar to the Torpor server and submits a workflow; prints its id.",
      "Checks first that the jar exists and holds the main class. Submitting the same request under the",
      "same --id again changes nothing; another request under an existing id is a conflict (exit 4)."
    })
public final class SubmitCommand extends ApiCommand {
  @Mixin OutputOptions output;

  @Option(names = "--jar", required = true, description = "The application jar (with its dependencies).")
  Path jar;

  @Option(names = "--main", required = true, description = "The workflow's main class, e.g. com.acme.Main.")
  String mainClass;

  @Option(names = "--id", description = "Workflow id (letters, digits, . _ -; up to 128). Default: the server makes one.")
  String id;

  @Option(names = "--java-opts", split = " ", description = "Extra JVM options, space-separated.")
  List<String> javaOptions = new ArrayList<>();

  @Option(names = "--env", paramLabel = "NAME=VALUE",
      description = "An environment variable for the workflow JVM (repeatable). Workflows get PATH, LANG, TZ, HOME"
          + " and TMPDIR and these, never the server's or worker's own variables; they are stored with the workflow.")
  Map<String, String> env = new LinkedHashMap<>();

  @Parameters(description = "Arguments for the workflow's main method (after --).")
  List<String> args = new ArrayList<>();

  @Override
  int call(ApiClient api) throws FileNotFoundException {
    WorkflowId workflow = id == null ? null : WorkflowId.of(id);
    WorkflowEnv.check(env);
    JarCheck.check(jar, mainClass, HttpApi.MAX_APP_BYTES);
    JsonNode app = api.post(ApiClient.path("v1", "apps"), HttpRequest.BodyPublishers.ofFile(jar), "application/java-archive").json();
    if (!app.path("sha256").isTextual()) {
      throw new ApiClient.Failure(ExitCodes.FAILURE, "the server stored the jar but did not say its sha256: " + app);
    }
    Map<String, Object> request = new LinkedHashMap<>();
    if (workflow != null) {
      request.put("id", workflow.value());
    }
    request.put("app", app.path("sha256").asText());
    request.put("main", mainClass);
    request.put("args", args);
    request.put("javaOptions", javaOptions.stream().filter(o -> !o.isBlank()).toList());
    if (!env.isEmpty()) {
      request.put("env", env);
    }
    ApiClient.Reply reply = api.postJson(ApiClient.path("v1", "workflows"), request);
    JsonNode result = reply.json();
    if (output.json()) {
      printJson(reply);
    } else {
      out().println(result.path("id").asText());
    }
    if (!result.path("created").asBoolean(true)) {
      err().println("torpor: workflow " + result.path("id").asText() + " was already submitted with this request; nothing changed");
    }
    return 0;
  }
}
