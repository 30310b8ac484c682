package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import dev.torpor.Signal;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Timers, signals and {@code awaitAny} on an executor's threads at once, joined through
 * CompletableFutures; then the main thread asks for signal "late", sent before anyone waited for it.
 */
public final class MixedWaits {
  private MixedWaits() {}

  public static void main(String[] args) {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CompletableFuture<Void> timer2 = CompletableFuture.runAsync(() -> {
      Durable.waitFor(Duration.ofSeconds(2));
      System.out.println("timer 2s over");
    }, pool);
    CompletableFuture<Void> timer5 = CompletableFuture.runAsync(() -> {
      Durable.waitFor(Duration.ofSeconds(5));
      System.out.println("timer 5s over");
    }, pool);
    CompletableFuture<Void> go = CompletableFuture.runAsync(() ->
        System.out.println("go: " + Durable.awaitSignal("go").text()), pool);
    CompletableFuture<Void> any = CompletableFuture.runAsync(() -> {
      Optional<Signal> first = Durable.awaitAny(List.of("x", "y"), Duration.ofSeconds(3));
      System.out.println("any within 3s: " + first.map(s -> s.name() + "=" + s.text()).orElse("timed out"));
      Optional<Signal> second = Durable.awaitAny(List.of("x", "y"), Duration.ofMinutes(5));
      System.out.println("any within 5min: " + second.map(s -> s.name() + "=" + s.text()).orElse("timed out"));
    }, pool);
    CompletableFuture.allOf(timer2, timer5, go, any).join();
    pool.shutdown();
    System.out.println("late: " + Durable.awaitSignal("late").text());
  }
}
