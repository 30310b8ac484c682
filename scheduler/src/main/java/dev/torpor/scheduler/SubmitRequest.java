package dev.torpor.scheduler;

import dev.torpor.WorkflowId;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Objects;

/**
 * A request to run a workflow. Submitting the same request under the same id again is
 * idempotent; a different request under an existing id is a {@link ConflictException}.
 *
 * @param id the workflow id, or null for a new generated one
 * @param appSha256 the content address of the application jar, from {@link ControlPlane#storeApp}
 * @param mainClass the workflow's main class
 * @param args its arguments
 * @param javaOptions extra JVM options
 * @param env environment variables for the workflow JVM, on top of the few every workflow gets
 *     (a worker's own variables never reach it)
 */
public record SubmitRequest(WorkflowId id, String appSha256, String mainClass, List<String> args, List<String> javaOptions,
    Map<String, String> env) {
  public SubmitRequest(WorkflowId id, String appSha256, String mainClass, List<String> args, List<String> javaOptions) {
    this(id, appSha256, mainClass, args, javaOptions, Map.of());
  }

  public SubmitRequest {
    Objects.requireNonNull(appSha256, "appSha256");
    Objects.requireNonNull(mainClass, "mainClass");
    args = List.copyOf(args == null ? List.of() : args);
    javaOptions = List.copyOf(javaOptions == null ? List.of() : javaOptions);
    env = Collections.unmodifiableMap(new TreeMap<>(env == null ? Map.of() : env));
  }
}
