package dev.torpor.internal;

import java.util.List;
import org.crac.Context;
import org.crac.Resource;

/** Appends "before NAME" / "after NAME" to a shared log; optionally throws from either hook. */
final class RecordingResource implements Resource {
  private final String name;
  private final List<String> log;
  private final Exception beforeFailure;
  private final Exception afterFailure;

  private RecordingResource(String name, List<String> log, Exception beforeFailure, Exception afterFailure) {
    this.name = name;
    this.log = log;
    this.beforeFailure = beforeFailure;
    this.afterFailure = afterFailure;
  }

  static RecordingResource named(String name, List<String> log) {
    return new RecordingResource(name, log, null, null);
  }

  static RecordingResource failingBefore(String name, List<String> log, Exception failure) {
    return new RecordingResource(name, log, failure, null);
  }

  static RecordingResource failingAfter(String name, List<String> log, Exception failure) {
    return new RecordingResource(name, log, null, failure);
  }

  @Override
  public void beforeCheckpoint(Context<? extends Resource> context) throws Exception {
    log.add("before " + name);
    if (beforeFailure != null) {
      throw beforeFailure;
    }
  }

  @Override
  public void afterRestore(Context<? extends Resource> context) throws Exception {
    log.add("after " + name);
    if (afterFailure != null) {
      throw afterFailure;
    }
  }
}
