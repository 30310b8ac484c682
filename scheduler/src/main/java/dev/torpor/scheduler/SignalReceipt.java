package dev.torpor.scheduler;

import java.time.Instant;

/**
 * What the control plane answers for a signal it has stored: the same answer again for a retry
 * under the same idempotency key.
 *
 * @param id the signal's number in the registry (ascending in the order signals were received)
 * @param receivedAt when it was first received
 * @param duplicate whether this request repeated one already stored under the same key (and stored nothing)
 */
public record SignalReceipt(long id, Instant receivedAt, boolean duplicate) {}
