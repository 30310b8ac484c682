/**
 * Where checkpoint images live: the {@link dev.torpor.storage.ImageStore} SPI, its key layout
 * and manifest, and the local-directory store.
 */
package dev.torpor.storage;
