package dev.torpor.storage;

/** The checks every {@link ImageUpload} makes before a commit, with the same messages. */
final class UploadChecks {
  /** Where an upload is in its life. */
  enum State {
    OPEN,
    COMMITTED,
    /** A commit failed and the data was discarded. */
    FAILED,
    /** Closed before a commit. */
    ABORTED
  }

  private UploadChecks() {}

  /** Why an upload that is no longer {@link State#OPEN} cannot commit. */
  static IllegalStateException notCommittable(ImageKey key, State state) {
    return switch (state) {
      case COMMITTED -> new IllegalStateException(
          "image " + key + " is already committed: an upload commits once; begin a new upload"
              + " with the next seq for a new image");
      case FAILED -> new IllegalStateException(
          "an earlier commit of image " + key + " failed and its data was discarded; begin the"
              + " upload again");
      case ABORTED -> new IllegalStateException(
          "the upload of image " + key + " was closed (aborted) before its commit; begin it again");
      case OPEN -> throw new IllegalArgumentException("an open upload of " + key + " can commit");
    };
  }

  /**
   * Checks that {@code manifest} describes {@code key}, is valid, and counts the {@code written}
   * bytes.
   *
   * @throws IllegalArgumentException saying what does not match
   */
  static void checkManifest(ImageKey key, ImageManifest manifest, long written) {
    if (manifest == null) {
      throw new IllegalArgumentException("commit of image " + key + " needs a manifest, got null");
    }
    if (!key.workflowId().equals(manifest.workflowId()) || key.seq() != manifest.seq()) {
      throw new IllegalArgumentException(
          "the manifest describes image " + manifest.workflowId() + "#" + manifest.seq()
              + " but this upload writes " + key + "; build the manifest for " + key);
    }
    try {
      ManifestJson.validate(manifest, "for image " + key + " (being committed)");
    } catch (CorruptManifestException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    if (manifest.packedBytes() != written) {
      throw new IllegalArgumentException(
          "the manifest of image " + key + " says packedBytes=" + manifest.packedBytes() + " but "
              + written + " bytes were written to the upload; set packedBytes to the size of the"
              + " data written");
    }
  }
}
