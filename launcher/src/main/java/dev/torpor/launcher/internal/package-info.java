/** The worker: launches, dumps, packs, stores and restores workflow JVMs. Internal: no compatibility guarantee. */
package dev.torpor.launcher.internal;
