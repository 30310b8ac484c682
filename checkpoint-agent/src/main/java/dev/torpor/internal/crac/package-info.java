/**
 * Torpor as the implementation of {@code org.crac} on a stock JDK. A worker starts every
 * workflow JVM with {@code -Dorg.crac.Core.Compat=dev.torpor.internal.crac}, so {@code
 * org.crac.Core} delegates to the classes here (it looks for {@code Core}, {@code Context},
 * {@code Resource}, {@code CheckpointException} and {@code RestoreException} in this package by
 * name): every library that registers an {@code org.crac.Resource} with {@code
 * Core.getGlobalContext()} gets its hooks at every Torpor checkpoint, and {@code
 * Core.checkpointRestore()} is a Torpor savepoint. No compatibility guarantee: do not use from
 * applications; use {@code org.crac}.
 */
package dev.torpor.internal.crac;
