package dev.torpor.storage;

import dev.torpor.WorkflowId;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Packs of chunk frames that images of several workflows read, and the references that keep
 * them. A worker writes the first image of a workflow of a given program into a shared pack, and
 * the first images of later workflows of the same program store only the chunks that pack lacks.
 * A pack outlives the workflow that wrote it for as long as any workflow refers to it.
 *
 * <p>Layout, under {@code shared/} beside {@code images/}:
 *
 * <pre>
 *   shared/&lt;id&gt;.pack                 the frames (written once, never changed)
 *   shared/&lt;id&gt;.refs/&lt;workflowId&gt;   a reference: the workflow's images may read the pack
 *   shared/&lt;id&gt;.condemned            a collector is about to delete the pack
 *   shared/wf.&lt;workflowId&gt;/&lt;id&gt;      the same reference, found by workflow: written before it,
 *                                      deleted after it, so that a collection finds every reference
 *                                      of a workflow, also those a crashed commit left behind
 * </pre>
 *
 * <p>The protocol, for a store that is strongly consistent (a file system, S3): a workflow writes
 * its reference <em>before</em> any image of it reads the pack, then checks that the pack is not
 * condemned and still there ({@link #reference}); a collector deletes a pack only after it has
 * written the condemned marker and then found no reference ({@link #sweep}). Whichever of the two
 * comes second sees the other's write: either the collector sees the reference and keeps the pack,
 * or the workflow sees the marker (or the pack gone) and does without it. So no image ever reads a
 * deleted pack. A reference is released when its workflow finished and its images were collected
 * ({@link #release}); one left behind by a crash is dropped once it is older than the grace
 * period and its workflow has no image, the grace period being longer than any commit may take.
 */
public final class SharedPacks {
  /** The most shared packs one workflow refers to. */
  public static final int MAX_PER_WORKFLOW = 64;

  private static final Pattern ID = Pattern.compile("[0-9a-f]{32}");
  private static final String PACK = ".pack";
  private static final String REFS = ".refs/";
  private static final String CONDEMNED = ".condemned";
  private static final String BY_WORKFLOW = "wf.";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ImageStore store;

  public SharedPacks(ImageStore store) {
    this.store = store;
  }

  /** Whether {@code s} is a shared pack id: 32 lower-case hex digits. */
  public static boolean isId(String s) {
    return s != null && ID.matcher(s).matches();
  }

  /** A new, random pack id. */
  public static String newId() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** The name of pack {@code id}'s frames, for {@link ImageStore#openSharedRange}. */
  public static String packName(String id) {
    return requireId(id) + PACK;
  }

  /**
   * Writes pack {@code id} with {@code frames}, referred to by {@code workflowId}: the reference
   * first, so that the pack is never without one until its workflow releases it.
   */
  public void create(String id, byte[] frames, String workflowId) throws IOException {
    store.putShared(byWorkflowName(id, workflowId), new byte[0]);
    store.putShared(refName(id, workflowId), new byte[0]);
    store.putShared(packName(id), frames);
  }

  /**
   * Makes {@code workflowId} refer to pack {@code id}, if the pack is still there and no collector
   * is deleting it; then the workflow's images may read it until the workflow releases it.
   *
   * @return false, with no reference left behind, if the pack is gone or being deleted
   */
  public boolean reference(String id, String workflowId) throws IOException {
    store.putShared(byWorkflowName(id, workflowId), new byte[0]);
    store.putShared(refName(id, workflowId), new byte[0]);
    if (store.sharedExists(requireId(id) + CONDEMNED) || !store.sharedExists(packName(id))) {
      release(workflowId, List.of(id));
      return false;
    }
    return true;
  }

  /**
   * Drops {@code workflowId}'s references to {@code ids}: its images are all collected, or none
   * reads them.
   */
  public void release(String workflowId, Collection<String> ids) throws IOException {
    for (String id : ids) {
      store.deleteShared(refName(id, workflowId));
      store.deleteShared(byWorkflowName(id, workflowId));
    }
  }

  /** The packs {@code workflowId} refers to, also through references a crashed commit left behind. */
  public List<String> referredBy(String workflowId) throws IOException {
    String prefix = BY_WORKFLOW + WorkflowId.of(workflowId).value() + "/";
    List<String> ids = new ArrayList<>();
    for (String name : store.listShared(prefix).keySet()) {
      String id = name.substring(prefix.length());
      if (isId(id)) {
        ids.add(id);
      }
    }
    return ids;
  }

  /** What a sweep did. */
  public record Swept(int packsDeleted, int staleReferencesDropped, int packsKept) {}

  /** Tells whether a workflow has any image in the store. */
  @FunctionalInterface
  public interface ImagesOf {
    boolean any(String workflowId) throws IOException;
  }

  /**
   * Deletes the packs (of {@code ids}, or all when null) that no workflow refers to. First drops
   * each reference older than {@code grace} whose workflow has no image left (a crash's leftover:
   * a workflow with an image or a young reference may be committing). Idempotent, and safe
   * against workflows referring to packs meanwhile (see the class comment).
   */
  public Swept sweep(Collection<String> ids, Duration grace, ImagesOf images) throws IOException {
    SortedMap<String, Instant> all = new TreeMap<>();
    if (ids == null) {
      all.putAll(store.listShared(""));
    } else {
      for (String id : new TreeSet<>(ids)) {
        all.putAll(store.listShared(requireId(id) + "."));
      }
    }
    Map<String, Instant> packs = new TreeMap<>();
    Map<String, Instant> condemned = new TreeMap<>();
    Map<String, Map<String, Instant>> refs = new TreeMap<>();
    for (Map.Entry<String, Instant> e : all.entrySet()) {
      String name = e.getKey();
      int dot = name.indexOf('.');
      if (dot != 32 || !isId(name.substring(0, dot))) {
        continue; // not ours
      }
      String id = name.substring(0, dot);
      String rest = name.substring(dot);
      refs.computeIfAbsent(id, k -> new TreeMap<>());
      if (rest.equals(PACK)) {
        packs.put(id, e.getValue());
      } else if (rest.equals(CONDEMNED)) {
        condemned.put(id, e.getValue());
      } else if (rest.startsWith(REFS)) {
        refs.get(id).put(rest.substring(REFS.length()), e.getValue());
      }
    }
    Instant staleBefore = Instant.now().minus(grace);
    int deleted = 0;
    int stale = 0;
    int kept = 0;
    for (Map.Entry<String, Map<String, Instant>> e : refs.entrySet()) {
      String id = e.getKey();
      int live = 0;
      for (Map.Entry<String, Instant> ref : e.getValue().entrySet()) {
        if (ref.getValue().isBefore(staleBefore) && !images.any(ref.getKey())) {
          release(ref.getKey(), List.of(id));
          stale++;
        } else {
          live++;
        }
      }
      Instant marked = condemned.get(id);
      if (marked != null) {
        // Another collector is deleting it, or crashed doing so: only the marker's writer removes
        // a fresh marker (removing another's could let a workflow in after that one found no reference).
        if (marked.isBefore(staleBefore)) {
          store.deleteShared(id + CONDEMNED);
        }
        continue;
      }
      if (live > 0) {
        if (packs.containsKey(id)) {
          kept++;
        }
        continue;
      }
      store.putShared(id + CONDEMNED, new byte[0]);
      if (!store.listShared(id + REFS).isEmpty()) {
        store.deleteShared(id + CONDEMNED); // a workflow referred to it meanwhile: it stays
        kept++;
        continue;
      }
      if (packs.containsKey(id)) {
        store.deleteShared(packName(id));
        deleted++;
      }
      store.deleteShared(id + CONDEMNED);
    }
    return new Swept(deleted, stale, kept);
  }

  private static String byWorkflowName(String id, String workflowId) {
    return BY_WORKFLOW + WorkflowId.of(workflowId).value() + "/" + requireId(id);
  }

  private static String refName(String id, String workflowId) {
    return requireId(id) + REFS + WorkflowId.of(workflowId).value();
  }

  private static String requireId(String id) {
    if (!isId(id)) {
      throw new IllegalArgumentException("'" + id + "' is not a shared pack id (32 lower-case hex digits)");
    }
    return id;
  }
}
