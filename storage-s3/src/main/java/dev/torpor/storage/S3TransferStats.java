package dev.torpor.storage;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** What a store's transfers did, for tests to see which path a transfer took. */
final class S3TransferStats {
  final AtomicLong multipartUploads = new AtomicLong();
  final AtomicLong partsUploaded = new AtomicLong();
  final AtomicLong rangedGets = new AtomicLong();
  private final AtomicInteger partsInFlight = new AtomicInteger();
  private final AtomicInteger rangesInFlight = new AtomicInteger();
  /** The most parts of any uploads, or ranges of any downloads, seen in flight at once. */
  final AtomicInteger maxPartsInFlight = new AtomicInteger();
  final AtomicInteger maxRangesInFlight = new AtomicInteger();

  void partStarted() {
    maxPartsInFlight.accumulateAndGet(partsInFlight.incrementAndGet(), Math::max);
  }

  void partEnded() {
    partsInFlight.decrementAndGet();
  }

  void rangeStarted() {
    rangedGets.incrementAndGet();
    maxRangesInFlight.accumulateAndGet(rangesInFlight.incrementAndGet(), Math::max);
  }

  void rangeEnded() {
    rangesInFlight.decrementAndGet();
  }
}
