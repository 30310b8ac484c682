/**
 * Where checkpoint images live: the {@link dev.torpor.storage.ImageStore} SPI, its key layout
 * and manifest, the local-directory store and the S3 store ({@link
 * dev.torpor.storage.S3ImageStore}, configured by {@link dev.torpor.storage.S3StoreConfig}).
 */
package dev.torpor.storage;
