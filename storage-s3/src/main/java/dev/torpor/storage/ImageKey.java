package dev.torpor.storage;

import dev.torpor.WorkflowId;

/**
 * Names one checkpoint image: a workflow and the sequence number of its checkpoint. Every
 * store lays keys out the same way, so a local directory and an S3 bucket hold the same
 * object names under their prefix:
 *
 * <pre>
 *   images/&lt;workflowId&gt;/&lt;seq, 20 digits&gt;.tar.zst         the packed image
 *   images/&lt;workflowId&gt;/&lt;seq, 20 digits&gt;.manifest.json   written last: it makes the image exist
 *   apps/&lt;sha256&gt;.jar                                    an application jar ({@link ImageStore#putApp})
 *   shared/&lt;name&gt;                                         a shared pack and its references ({@link SharedPacks})
 * </pre>
 */
public record ImageKey(String workflowId, long seq) {
  /** @throws IllegalArgumentException for an invalid workflow id (see {@link WorkflowId}) or a seq below 1 */
  public ImageKey {
    WorkflowId.of(workflowId);
    if (seq < 1) {
      throw new IllegalArgumentException("image seq must be >= 1, got " + seq + " for workflow " + workflowId);
    }
  }

  /** The folder holding every image of a workflow. */
  public static String workflowPrefix(String workflowId) {
    return "images/" + WorkflowId.of(workflowId).value() + "/";
  }

  private String stem() {
    return workflowPrefix(workflowId) + String.format("%020d", seq);
  }

  /**
   * The key of the image's data object: the packed image (format 1), or its new chunks and index
   * (format 2), which keeps the name so that stores and tools see one layout.
   */
  public String dataKey() {
    return stem() + ".tar.zst";
  }

  /** The key of the manifest. */
  public String manifestKey() {
    return stem() + ".manifest.json";
  }

  /**
   * Parses the seq out of a manifest's file name, or -1 if the name is not one: exactly 20 ASCII
   * digits naming a seq from 1 to {@link Long#MAX_VALUE}, then {@code .manifest.json}. Stray
   * names never throw.
   */
  static long seqOfManifestName(String name) {
    return seqOfName(name, ".manifest.json");
  }

  /** Parses the seq out of a data object's file name, as {@link #seqOfManifestName} does. */
  static long seqOfDataName(String name) {
    return seqOfName(name, ".tar.zst");
  }

  private static long seqOfName(String name, String suffix) {
    if (!name.endsWith(suffix) || name.length() != 20 + suffix.length()) {
      return -1;
    }
    long seq = 0;
    for (int i = 0; i < 20; i++) {
      char c = name.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      if (seq > (Long.MAX_VALUE - (c - '0')) / 10) {
        return -1; // 20 digits can exceed a long; such a name was not written by a store
      }
      seq = seq * 10 + (c - '0');
    }
    return seq >= 1 ? seq : -1;
  }

  @Override
  public String toString() {
    return workflowId + "#" + seq;
  }
}
