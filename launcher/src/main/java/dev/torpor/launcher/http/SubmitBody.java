package dev.torpor.launcher.http;

import dev.torpor.WorkflowId;
import dev.torpor.scheduler.SubmitRequest;
import dev.torpor.launcher.internal.WorkflowEnv;
import java.util.List;
import java.util.Map;

/** The JSON body of {@code POST /v1/workflows}; unknown fields are refused. */
record SubmitBody(String id, String app, String main, List<String> args, List<String> javaOptions,
    Map<String, String> env) {
  /** The control plane's request, after checking every field; IllegalArgumentException names the bad one. */
  SubmitRequest toRequest() {
    WorkflowId workflowId = id == null ? null : WorkflowId.of(id);
    if (app == null || app.isBlank()) {
      throw new IllegalArgumentException("field 'app' is required: the sha256 that POST /v1/apps returned for the jar");
    }
    if (main == null || main.isBlank()) {
      throw new IllegalArgumentException("field 'main' is required: the workflow's main class, e.g. com.acme.Main");
    }
    checkNoNulls("args", args);
    checkNoNulls("javaOptions", javaOptions);
    if (env != null) {
      WorkflowEnv.check(env);
    }
    return new SubmitRequest(workflowId, app, main, args, javaOptions, env);
  }

  private static void checkNoNulls(String field, List<String> values) {
    if (values == null) {
      return;
    }
    for (int i = 0; i < values.size(); i++) {
      if (values.get(i) == null) {
        throw new IllegalArgumentException("field '" + field + "[" + i + "]' is null: give a string");
      }
    }
  }
}
