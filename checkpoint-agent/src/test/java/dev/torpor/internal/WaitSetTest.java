package dev.torpor.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.Signal;
import dev.torpor.WaitKind;
import dev.torpor.WakeReason;
import dev.torpor.internal.WaitSet.Waiter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WaitSetTest {
  private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

  private static Signal signal(String name, String text) {
    return new Signal(name, text.getBytes(StandardCharsets.UTF_8), T0);
  }

  @Test
  void aWakeEndsOnlyTheWaitsItSatisfiesAndTheRestStay() {
    WaitSet set = new WaitSet();
    Waiter a = set.add(WaitKind.SIGNAL, List.of("a"), Optional.empty(), "");
    Waiter b = set.add(WaitKind.SIGNAL, List.of("b"), Optional.empty(), "");
    Waiter timer = set.add(WaitKind.TIMER, List.of(), Optional.of(T0.plusSeconds(60)), "");

    List<Waiter> ended = set.settle(set.snapshot(), WakeReason.SIGNAL, List.of(signal("b", "1")), T0);

    assertThat(ended).containsExactly(b);
    assertThat(b.outcome.signal()).get().extracting(Signal::text).isEqualTo("1");
    assertThat(a.outcome).isNull();
    assertThat(timer.outcome).isNull();
    assertThat(set.snapshot()).containsExactly(a, timer);
  }

  @Test
  void severalSignalsInOneWakeGoToTheEarliestWaitThatAcceptsEach() {
    WaitSet set = new WaitSet();
    Waiter first = set.add(WaitKind.SIGNAL, List.of("x"), Optional.empty(), "");
    Waiter any = set.add(WaitKind.SIGNAL, List.of("x", "y"), Optional.empty(), "");
    Waiter second = set.add(WaitKind.SIGNAL, List.of("x"), Optional.empty(), "");

    List<Waiter> ended = set.settle(set.snapshot(), WakeReason.SIGNAL, List.of(signal("x", "1"), signal("x", "2")), T0);

    assertThat(ended).containsExactly(first, any);
    assertThat(first.outcome.signal().orElseThrow().text()).isEqualTo("1");
    assertThat(any.outcome.signal().orElseThrow().text()).isEqualTo("2");
    assertThat(second.outcome).isNull();
  }

  @Test
  void timersAndDeadlinesDueByTheWakeEndAndASignalBeatsItsOwnDeadline() {
    WaitSet set = new WaitSet();
    Waiter due = set.add(WaitKind.TIMER, List.of(), Optional.of(T0.minusMillis(1)), "");
    Waiter later = set.add(WaitKind.TIMER, List.of(), Optional.of(T0.plusSeconds(5)), "");
    Waiter timedOut = set.add(WaitKind.SIGNAL, List.of("a"), Optional.of(T0), "");
    Waiter raced = set.add(WaitKind.SIGNAL, List.of("b"), Optional.of(T0), "");

    set.settle(set.snapshot(), WakeReason.TIMER, List.of(signal("b", "in time")), T0);

    assertThat(due.outcome.reason()).isEqualTo(WakeReason.TIMER);
    assertThat(later.outcome).isNull();
    assertThat(timedOut.outcome.reason()).isEqualTo(WakeReason.TIMEOUT);
    assertThat(timedOut.outcome.signal()).isEmpty();
    assertThat(raced.outcome.reason()).isEqualTo(WakeReason.SIGNAL);
  }

  @Test
  void anOperatorWakeEndsTimerWaitsButNotSignalWaits() {
    WaitSet set = new WaitSet();
    Waiter timer = set.add(WaitKind.TIMER, List.of(), Optional.of(T0.plusSeconds(3600)), "");
    Waiter sig = set.add(WaitKind.SIGNAL, List.of("a"), Optional.of(T0.plusSeconds(3600)), "");

    set.settle(set.snapshot(), WakeReason.OPERATOR, List.of(), T0);

    assertThat(timer.outcome.reason()).isEqualTo(WakeReason.OPERATOR);
    assertThat(sig.outcome).isNull();
  }

  @Test
  void aSignalNoWaitOfTheBatchTakesGoesToAWaitBegunSinceOrIsKeptForTheNext() {
    WaitSet set = new WaitSet();
    Waiter a = set.add(WaitKind.SIGNAL, List.of("a"), Optional.empty(), "");
    List<Waiter> batch = set.snapshot();
    Waiter since = set.add(WaitKind.SIGNAL, List.of("c"), Optional.empty(), "");

    set.settle(batch, WakeReason.SIGNAL, List.of(signal("a", "1"), signal("c", "2"), signal("d", "3")), T0);

    assertThat(a.outcome.signal().orElseThrow().text()).isEqualTo("1");
    assertThat(since.outcome.signal().orElseThrow().text()).isEqualTo("2");
    Waiter later = set.add(WaitKind.SIGNAL, List.of("d"), Optional.empty(), "");
    assertThat(later.outcome).as("kept in the inbox, delivered at once").isNotNull();
    assertThat(later.outcome.signal().orElseThrow().text()).isEqualTo("3");
    assertThat(set.isEmpty()).isTrue();
  }

  @Test
  void aSavepointEndsWithAnyWake() {
    WaitSet set = new WaitSet();
    Waiter save = set.add(WaitKind.CHECKPOINT, List.of(), Optional.empty(), "");
    Waiter sig = set.add(WaitKind.SIGNAL, List.of("a"), Optional.empty(), "");

    assertThat(set.settle(set.snapshot(), WakeReason.CHECKPOINT, List.of(), T0)).containsExactly(save);
    assertThat(sig.outcome).isNull();
  }
}
