package dev.torpor.scheduler;

import java.time.Instant;
import java.util.Map;

/**
 * One entry of a workflow's history.
 *
 * @param n the entry's position, increasing across all workflows
 * @param workflowId the workflow
 * @param at when it happened
 * @param type what happened: SUBMITTED, STARTED, SUSPENDED, WAKING, RESUMED, SIGNAL_RECEIVED,
 *     CHECKPOINTED, CHECKPOINT_FAILED, RESTORE_FAILED, RECOVERED, COMPLETED, FAILED, CANCELLED
 * @param seq the image sequence number it concerns
 * @param details type-specific facts (wait reason, image size, phase timings, exit code, ...)
 */
public record HistoryEvent(long n, String workflowId, Instant at, String type, long seq, Map<String, Object> details) {}
