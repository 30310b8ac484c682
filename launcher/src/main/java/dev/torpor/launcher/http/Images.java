package dev.torpor.launcher.http;

import java.io.IOException;
import java.util.List;

/** What the HTTP API tells of checkpoint images: one workflow's holdings, and garbage collection. */
public interface Images {
  /**
   * The images a workflow holds in the store.
   *
   * @param count how many committed images
   * @param bytes their stored size in all
   * @param newestSeq the newest one's seq, 0 if none
   */
  record Summary(int count, long bytes, long newestSeq) {}

  /**
   * What one garbage collection did (or, for a dry run, would do).
   *
   * @param dryRun whether nothing was deleted
   * @param workflows finished workflows examined
   * @param imagesDeleted images deleted
   * @param bytesDeleted their stored size
   * @param imagesKept images of finished workflows kept for the retention period
   * @param bytesKept their stored size
   * @param errors what could not be deleted (retried at the next collection)
   */
  record Report(boolean dryRun, int workflows, int imagesDeleted, long bytesDeleted, int imagesKept, long bytesKept,
      List<String> errors) {}

  Summary summary(String workflowId) throws IOException;

  Report collect(boolean dryRun) throws IOException;
}
