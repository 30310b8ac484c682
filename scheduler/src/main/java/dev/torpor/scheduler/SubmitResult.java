package dev.torpor.scheduler;

/**
 * The outcome of a submit.
 *
 * @param id the workflow id
 * @param created false when the same request had already been submitted
 */
public record SubmitResult(String id, boolean created) {}
