package dev.torpor.launcher.internal;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The environment of a workflow JVM, built from nothing: {@code PATH}, {@code LANG} and {@code TZ}
 * (the last two as the worker has them), {@code HOME} and {@code TMPDIR} in the run directory,
 * Torpor's own two variables, and what the workflow's submitter set. None of the worker's other
 * variables (cloud credentials, database passwords, tokens) ever reaches workflow code or its
 * images.
 */
public final class WorkflowEnv {
  /** The PATH every workflow gets. */
  static final String PATH = "/usr/local/bin:/usr/bin:/bin";
  /** The most variables a submitter may set, and the longest value. */
  public static final int MAX_VARIABLES = 64;
  public static final int MAX_VALUE = 8192;

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

  private WorkflowEnv() {}

  /**
   * Checks variables a submitter sets: portable names, not Torpor's own ({@code TORPOR_*}), no NUL
   * bytes, bounded in number and size.
   *
   * @throws IllegalArgumentException naming the bad variable
   */
  public static void check(Map<String, String> env) {
    if (env.size() > MAX_VARIABLES) {
      throw new IllegalArgumentException("a workflow may set at most " + MAX_VARIABLES + " environment variables, not "
          + env.size());
    }
    env.forEach((k, v) -> {
      if (k == null || !NAME.matcher(k).matches()) {
        throw new IllegalArgumentException("environment variable name '" + k + "' is not valid: use letters, digits"
            + " and '_', not starting with a digit (at most 128 characters)");
      }
      if (k.startsWith("TORPOR_")) {
        throw new IllegalArgumentException("environment variable " + k + " is reserved for Torpor: choose another name");
      }
      if (v == null || v.indexOf('\0') >= 0 || v.length() > MAX_VALUE) {
        throw new IllegalArgumentException("the value of environment variable " + k + " must be a string without NUL"
            + " characters, at most " + MAX_VALUE + " characters long");
      }
    });
  }

  /** The whole environment of a workflow JVM. */
  static Map<String, String> of(String workflowId, Path runDir, Map<String, String> submitted) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", PATH);
    env.put("LANG", System.getenv().getOrDefault("LANG", "C.UTF-8"));
    String tz = System.getenv("TZ");
    if (tz != null) {
      env.put("TZ", tz);
    }
    env.put("HOME", runDir.toString());
    env.put("TMPDIR", runDir.resolve("tmp").toString());
    env.putAll(submitted);
    env.put(dev.torpor.internal.SupervisedRuntime.ENV_WORKFLOW_ID, workflowId);
    env.put(dev.torpor.internal.SupervisedRuntime.ENV_RUN_DIR, runDir.toString());
    return env;
  }
}
