package dev.torpor.scheduler;

import java.time.Instant;
import java.util.List;

/**
 * What the image janitor asks of the registry: which finished workflows still hold images,
 * and a record of what it deleted. Live workflows are not listed: their older images are
 * deleted as soon as a newer one is recorded, and their newest image is never deleted.
 */
public interface ImageLedger {
  /** How much of a finished workflow's images the store still holds. */
  enum ImagesKept {
    /** Every image it committed may still be there. */
    ALL,
    /** Only its newest image (kept for the retention period after it finished). */
    LAST,
    /** None. */
    NONE
  }

  /**
   * A finished workflow that may still hold images.
   *
   * @param workflowId the workflow
   * @param state COMPLETED, FAILED or CANCELLED
   * @param seq its newest image's seq (0 if it never had one)
   * @param finishedAt when it finished
   * @param kept what the store still holds
   */
  record Finished(String workflowId, WorkflowState state, long seq, Instant finishedAt, ImagesKept kept) {}

  /** Finished workflows whose images are not all deleted yet, the longest finished first. */
  List<Finished> finishedHoldingImages(int limit);

  /** Records that the store now holds only {@code kept} of the workflow's images. */
  void imagesKept(String workflowId, ImagesKept kept);
}
