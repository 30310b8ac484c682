package dev.torpor.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/** Waits that an interrupt does not cut short; the interrupt status is restored afterwards. */
final class Uninterruptibles {
  private Uninterruptibles() {}

  static void sleepUntil(Instant deadline) {
    boolean interrupted = false;
    try {
      while (true) {
        Duration left = Duration.between(Instant.now(), deadline);
        if (left.isNegative() || left.isZero()) {
          return;
        }
        try {
          long ms = left.getSeconds() >= 86_400 ? 86_400_000L : left.toMillis();
          TimeUnit.MILLISECONDS.sleep(Math.max(1, ms));
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static <T> T take(BlockingQueue<T> queue) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return queue.take();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
