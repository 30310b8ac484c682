/**
 * Torpor's control plane: the {@link dev.torpor.scheduler.ControlPlane} operations (submit,
 * signal, list, status, history, cancel, wake, logs) over a durable registry, signal mailbox and
 * history in JDBC, with Quartz's JDBC job store for every timer and dispatch.
 */
package dev.torpor.scheduler;
