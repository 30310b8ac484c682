package dev.torpor.scheduler.internal;

import dev.torpor.PendingWait;
import dev.torpor.scheduler.WorkflowState;
import java.util.List;
import java.util.Map;

/** A workflow's row as {@link Registry} read it under its lock. */
final class WorkflowRow {
  String id;
  WorkflowState state;
  long seq;
  String appSha256;
  String mainClass;
  List<String> args;
  List<String> javaOptions;
  Map<String, String> env;
  /** TIMER or SIGNAL while it waits; null when nothing (running, or a savepoint's image). */
  String waitKind;
  String waitSignal;
  Long wakeAt;
  boolean inMemory;
  /** The wait set while it waits (empty when nothing), by wait id. */
  List<PendingWait> waits = List.of();
  String lastWakeReason;
  /** The mailbox rows the last wake delivered. */
  List<Long> lastWakeSignals = List.of();
  int wakeFailures;
  /** The worker whose lease covers the running segment or the wait in its memory; null for none. */
  String owner;
  boolean unrestorable;
}
