/**
 * Torpor's public API: {@link dev.torpor.Durable} for durable waits, {@link dev.torpor.Signal}
 * for what a signal wait returns, and the exceptions. Everything under {@code
 * dev.torpor.internal} is an implementation detail with no compatibility guarantee.
 */
package dev.torpor;
