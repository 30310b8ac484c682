package dev.torpor.launcher.internal;

import dev.torpor.WorkflowId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How to start a workflow JVM: its id, class path, main class, arguments, extra JVM options,
 * the JDK to run it on, and the environment variables its submitter set (on top of the few a
 * worker gives every workflow; never the worker's own).
 */
public record WorkflowSpec(String id, List<Path> classPath, String mainClass, List<String> args,
    List<String> javaOptions, Path javaHome, Map<String, String> env) {

  public WorkflowSpec(String id, List<Path> classPath, String mainClass, List<String> args, List<String> javaOptions,
      Path javaHome) {
    this(id, classPath, mainClass, args, javaOptions, javaHome, Map.of());
  }

  public WorkflowSpec {
    WorkflowId.of(id);
    Objects.requireNonNull(mainClass, "mainClass");
    if (classPath.isEmpty()) {
      throw new IllegalArgumentException("workflow " + id + " has an empty class path: pass --jar or --cp");
    }
    for (Path p : classPath) {
      if (!Files.exists(p)) {
        throw new IllegalArgumentException("class path entry " + p + " of workflow " + id + " does not exist");
      }
    }
    if (!Files.isExecutable(javaHome.resolve("bin/java"))) {
      throw new IllegalArgumentException("no executable bin/java under JDK home " + javaHome);
    }
    WorkflowEnv.check(env);
    classPath = List.copyOf(classPath);
    env = Map.copyOf(env);
    args = List.copyOf(args);
    javaOptions = List.copyOf(javaOptions);
  }

  /** The JDK this process runs on. */
  public static Path currentJavaHome() {
    return Path.of(System.getProperty("java.home"));
  }
}
