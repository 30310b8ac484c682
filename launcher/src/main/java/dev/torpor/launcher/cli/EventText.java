package dev.torpor.launcher.cli;

import dev.torpor.launcher.internal.WorkflowEvent;
import java.util.Locale;
import java.util.Map;

/** One human line per workflow event. */
final class EventText {
  private EventText() {}

  static String describe(WorkflowEvent e) {
    Map<String, Object> d = e.details();
    String id = e.workflowId();
    return switch (e.type()) {
      case STARTED -> id + " started (pid " + d.get("pid") + (d.containsKey("sandboxMillis")
          ? "; sandbox built in " + d.get("sandboxMillis") + " ms" : "") + ")";
      case SUSPENDED -> id + " suspended at seq " + e.seq() + " waiting for " + waitText(d)
          + String.format(Locale.ROOT, "; image %.1f MB raw, %.1f MB packed; %.0f ms", mb(d.get("rawBytes")),
              mb(d.get("packedBytes")), d.get("suspendMillis")) + " " + d.get("timings") + "; no process is left running"
          + (d.containsKey("trigger") ? " (checkpointed as " + d.get("trigger") + ")" : "");
      case CHECKPOINTED -> id + " checkpointed at seq " + e.seq()
          + String.format(Locale.ROOT, " (%.1f MB packed, %.0f ms); still running", mb(d.get("packedBytes")), d.get("suspendMillis"));
      case CHECKPOINT_FAILED -> id + " could not be checkpointed, kept in memory: " + d.get("error");
      case WAITING_IN_MEMORY -> id + " waits in memory";
      case WAKING -> id + " waking (" + d.get("reason") + ") from seq " + e.seq();
      case RESTORE_FAILED -> id + " could not be woken: " + d.get("error");
      case RESUMED -> id + " resumed from seq " + e.seq() + String.format(Locale.ROOT, " in %.0f ms", d.get("resumeMillis")) + " " + d.getOrDefault("timings", "");
      case EXITED -> id + " exited with code " + d.get("exitCode");
    };
  }

  private static String waitText(Map<String, Object> d) {
    if (d.get("waits") instanceof Number n && n.intValue() > 1) {
      return n + " waits" + (d.containsKey("wakeAt") ? " (the first due " + d.get("wakeAt") + ")" : "");
    }
    if ("TIMER".equals(d.get("wait"))) {
      return "a timer until " + d.get("wakeAt");
    }
    return "signal '" + d.get("signal") + "'" + (d.containsKey("wakeAt") ? " until " + d.get("wakeAt") : "");
  }

  private static double mb(Object bytes) {
    return ((Number) bytes).doubleValue() / 1e6;
  }
}
