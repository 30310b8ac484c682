package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.scheduler.HistoryEvent;
import dev.torpor.scheduler.WorkflowState;
import dev.torpor.scheduler.WorkflowView;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The text form of {@code list}, {@code status} and {@code history}. */
class ViewTextTest {
  private static final Instant WAKE = Instant.parse("2030-01-01T00:00:00Z");
  private static final Instant CREATED = Instant.parse("2024-05-01T10:00:00Z");

  /** A workflow suspended at seq 3 on a timer ({@code "TIMER"}) or a signal ({@code "SIGNAL"}). */
  private static WorkflowView suspended(String id, String waitKind, String waitSignal, Instant wakeAt) {
    return new WorkflowView(id, WorkflowState.SUSPENDED, 3, "com.acme.Main", List.of("a", "b"), "ab12cd",
        waitKind, waitSignal, wakeAt, false,
        "at dev.torpor.Durable.waitFor(Durable.java:42)\nat com.acme.Main.main(Main.java:7)",
        12_345_678L, 4_567_890L, 1, null, null, CREATED, CREATED.plusSeconds(5), List.of());
  }

  /** A running workflow without any image yet, created {@code minutes} after {@link #CREATED}. */
  private static WorkflowView running(String id, int minutes) {
    Instant t = CREATED.plusSeconds(60L * minutes);
    return new WorkflowView(id, WorkflowState.RUNNING, 0, "com.acme.Main", List.of(), "ab12cd",
        null, null, null, false, null, null, null, 0, null, null, t, t, List.of());
  }

  @Test
  void waitingDescribesTimersAndSignals() {
    assertThat(ViewText.waiting(suspended("a", "TIMER", null, WAKE))).isEqualTo("timer until 2030-01-01T00:00:00Z");
    assertThat(ViewText.waiting(suspended("a", "SIGNAL", "approve", null))).isEqualTo("signal 'approve' (no deadline)");
    assertThat(ViewText.waiting(suspended("a", "SIGNAL", "approve", WAKE))).isEqualTo("signal 'approve' until 2030-01-01T00:00:00Z");
    assertThat(ViewText.waiting(running("a", 0))).isEmpty();
  }

  @Test
  void tableAlignsColumns() {
    String table = ViewText.table(List.of(suspended("wf-long-name", "TIMER", null, WAKE), running("r", 0)));

    assertThat(table.lines().toList()).containsExactly(
        "ID            STATE      SEQ  WAITING                           UPDATED",
        "wf-long-name  SUSPENDED  3    timer until 2030-01-01T00:00:00Z  2024-05-01T10:00:05Z",
        "r             RUNNING    0    -                                 2024-05-01T10:00:00Z");
  }

  @Test
  void emptyTableSaysSo() {
    assertThat(ViewText.table(List.of())).isEqualTo("(no workflows)\n");
  }

  @Test
  void statusShowsWhatAppliesAndTheStack() {
    String text = ViewText.status(suspended("wf-1", "SIGNAL", "approve", WAKE));

    assertThat(text.lines().toList()).containsExactly(
        "id:              wf-1",
        "state:           SUSPENDED",
        "seq:             3",
        "main:            com.acme.Main a b",
        "app:             ab12cd",
        "waiting on:      signal 'approve' until 2030-01-01T00:00:00Z",
        "next wake:       2030-01-01T00:00:00Z",
        "image:           12.3 MB raw, 4.6 MB packed",
        "pending signals: 1",
        "created:         2024-05-01T10:00:00Z",
        "updated:         2024-05-01T10:00:05Z",
        "stack of the waiting thread:",
        "  at dev.torpor.Durable.waitFor(Durable.java:42)",
        "  at com.acme.Main.main(Main.java:7)");
  }

  @Test
  void statusOfAFailedWorkflowShowsExitCodeAndError() {
    WorkflowView r = running("wf-1", 0);
    WorkflowView failed = new WorkflowView(r.id(), WorkflowState.FAILED, 2, r.mainClass(), r.args(), r.appSha256(), null, null,
        null, false, null, null, null, 0, 3, "exited with code 3", r.createdAt(), r.updatedAt(), List.of());

    String text = ViewText.status(failed);

    assertThat(text).contains("state:           FAILED\n").contains("exit code:       3\n")
        .contains("error:           exited with code 3\n").doesNotContain("waiting on").doesNotContain("image:")
        .doesNotContain("stack");
  }

  @Test
  void historyIsOneLinePerEvent() {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("wait", "TIMER");
    details.put("rawBytes", 1234);
    List<HistoryEvent> events = List.of(
        new HistoryEvent(7, "wf-1", Instant.parse("2024-05-01T10:00:00Z"), "STARTED", 0, Map.of()),
        new HistoryEvent(12, "wf-1", Instant.parse("2024-05-01T10:00:03Z"), "SUSPENDED", 1, details));

    assertThat(ViewText.history(events).lines().toList()).containsExactly(
        "#7     2024-05-01T10:00:00Z  STARTED    seq 0",
        "#12    2024-05-01T10:00:03Z  SUSPENDED  seq 1  wait=TIMER rawBytes=1234");
    assertThat(ViewText.history(List.of())).isEqualTo("(no history)\n");
  }
}
