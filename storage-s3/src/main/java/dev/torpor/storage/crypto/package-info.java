/**
 * Client-side protection of checkpoint images: a worker's {@link
 * dev.torpor.storage.crypto.ImageKeyring image keys}, the {@link
 * dev.torpor.storage.crypto.ImageCipher streaming encryption} of packed images (AES-256-GCM,
 * one key per image derived with HKDF-SHA256, 1 MiB segments, bound to the image's workflow id
 * and seq) and the {@link dev.torpor.storage.crypto.ManifestAuth authentication} of manifests
 * (HMAC-SHA256). A store, local or S3, then holds only ciphertext and manifests it cannot forge.
 */
package dev.torpor.storage.crypto;
