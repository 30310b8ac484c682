package dev.torpor.launcher.cli;

import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.WorkflowView;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** The text form of what the server answers: tables and "key: value" lines for people. */
final class ViewText {
  private ViewText() {}

  /** One row per workflow under a header; "(no workflows)" when empty. */
  static String table(List<WorkflowView> views) {
    if (views.isEmpty()) {
      return "(no workflows)\n";
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ID", "STATE", "SEQ", "WAITING", "UPDATED"});
    for (WorkflowView v : views) {
      rows.add(new String[] {v.id(), String.valueOf(v.state()), Long.toString(v.seq()), orDash(waiting(v)), orDash(v.updatedAt())});
    }
    int[] width = new int[5];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        sb.append(i == r.length - 1 ? r[i] : String.format(Locale.ROOT, "%-" + width[i] + "s  ", r[i]));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /** What the workflow waits for, or "" when it does not wait. */
  static String waiting(WorkflowView v) {
    if (v.waitKind() == null) {
      return "";
    }
    if (v.waits().size() > 1) {
      long timers = v.waits().stream().filter(w -> w.kind().equals("TIMER")).count();
      long signals = v.waits().stream().filter(w -> w.kind().equals("SIGNAL")).count();
      String first = v.wakeAt() == null ? "" : ", first due " + v.wakeAt();
      return v.waits().size() + " waits (" + signals + " on signals, " + timers + " on timers" + first + ")"
          + (v.inMemory() ? " (in memory: its checkpoint failed)" : "");
    }
    String until = v.wakeAt() == null ? "" : " until " + v.wakeAt();
    String what = "TIMER".equalsIgnoreCase(v.waitKind()) ? "timer" + until
        : "signal '" + v.waitSignal() + "'" + (v.wakeAt() == null ? " (no deadline)" : until);
    return what + (v.inMemory() ? " (in memory: its checkpoint failed)" : "");
  }

  /** One wait of the set, in words. */
  static String describe(WorkflowView.Wait w) {
    String until = w.wakeAt() == null ? "" : " until " + w.wakeAt();
    return switch (w.kind()) {
      case "TIMER" -> "timer" + until;
      case "SIGNAL" -> (w.signals().size() == 1 ? "signal '" + w.signals().get(0) + "'"
          : "any of signals '" + String.join("', '", w.signals()) + "'") + (w.wakeAt() == null ? " (no deadline)" : until);
      default -> "savepoint";
    };
  }

  /** "key: value" lines of everything that applies, then each pending wait with its thread's stack. */
  static String status(WorkflowView v) {
    return status(v, null);
  }

  /** {@code images}: what the store holds of the workflow, or null if the server did not say. */
  static String status(WorkflowView v, dev.torpor.launcher.http.Images.Summary images) {
    StringBuilder sb = new StringBuilder();
    line(sb, "id", v.id());
    line(sb, "state", v.state());
    line(sb, "seq", v.seq());
    line(sb, "main", v.mainClass() + (v.args() == null || v.args().isEmpty() ? "" : " " + String.join(" ", v.args())));
    line(sb, "app", v.appSha256());
    if (v.waitKind() != null) {
      line(sb, "waiting on", waiting(v));
    }
    line(sb, "next wake", v.wakeAt());
    if (v.imageBytes() != null) {
      line(sb, "image", megabytes(v.imageBytes()) + " raw" + (v.packedBytes() == null ? "" : ", " + megabytes(v.packedBytes()) + " packed"));
    }
    if (images != null) {
      line(sb, "images", images.count() + " in the store, " + megabytes(images.bytes()));
    }
    line(sb, "pending signals", v.pendingSignals());
    line(sb, "exit code", v.exitCode());
    line(sb, "error", v.error());
    line(sb, "created", v.createdAt());
    line(sb, "updated", v.updatedAt());
    if (!v.waits().isEmpty()) {
      for (WorkflowView.Wait w : v.waits()) {
        sb.append("wait ").append(w.id()).append(": ").append(describe(w)).append('\n');
        w.stack().lines().forEach(l -> sb.append("    ").append(l.strip()).append('\n'));
      }
    } else if (v.stack() != null && !v.stack().isBlank()) {
      sb.append("stack of the waiting thread:\n");
      v.stack().lines().forEach(l -> sb.append("  ").append(l.strip()).append('\n'));
    }
    return sb.toString();
  }

  /** One line per event: number, time, type, seq, details. */
  static String history(List<HistoryEvent> events) {
    if (events.isEmpty()) {
      return "(no history)\n";
    }
    int typeWidth = events.stream().mapToInt(e -> String.valueOf(e.type()).length()).max().orElse(0);
    StringBuilder sb = new StringBuilder();
    for (HistoryEvent e : events) {
      sb.append(String.format(Locale.ROOT, "%-6s %s  %-" + typeWidth + "s  seq %d", "#" + e.n(), e.at(), e.type(), e.seq()));
      Map<String, Object> d = e.details();
      if (d != null && !d.isEmpty()) {
        sb.append("  ").append(d.entrySet().stream().map(x -> x.getKey() + "=" + x.getValue()).collect(Collectors.joining(" ")));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  static String megabytes(long bytes) {
    return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
  }

  private static void line(StringBuilder sb, String key, Object value) {
    if (value != null) {
      sb.append(String.format(Locale.ROOT, "%-16s %s\n", key + ":", value));
    }
  }

  private static String orDash(Object o) {
    return o == null || o.toString().isEmpty() ? "-" : o.toString();
  }
}
