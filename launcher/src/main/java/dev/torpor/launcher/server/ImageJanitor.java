package dev.torpor.launcher.server;

import dev.torpor.launcher.http.Images;
import dev.torpor.scheduler.CrashPoint;
import dev.torpor.scheduler.ImageLedger;
import dev.torpor.scheduler.ImageLedger.Finished;
import dev.torpor.scheduler.ImageLedger.ImagesKept;
import dev.torpor.storage.ImageKey;
import dev.torpor.storage.ImageManifest;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.SharedPacks;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Deletes the images nobody will restore again:
 *
 * <ul>
 *   <li>a live workflow's older images, as soon as the registry records a newer one (only the
 *       newest is ever restored);
 *   <li>a finished workflow's images but the last, at the next collection after it finished;
 *   <li>that last image once the retention period has passed since it finished (kept so an
 *       operator can look into a failure; a retention of zero deletes it at once).
 * </ul>
 *
 * Deleting an image deletes its manifest, then sweeps its workflow's data objects: a chunked
 * image's data object stays while a newer image reads its frames ({@link ImageStore#sweep}). A
 * collection runs every interval and on demand ({@code torpor images gc}). Deleting is
 * idempotent; what fails, or what a crash cut short, is done at the next collection.
 */
public final class ImageJanitor implements Images, AutoCloseable {
  private static final int BATCH = 10_000;
  /**
   * How old a reference to a shared pack must be before a collection may drop it for want of an
   * image of its workflow: far longer than a commit takes (a worker refers to the pack before it
   * writes the image that reads it).
   */
  static final Duration SHARED_GRACE = Duration.ofHours(1);

  private final ImageStore store;
  private final SharedPacks sharedPacks;
  /** When every shared pack was last swept (for references left by crashes); at most once per {@link #SHARED_GRACE}. */
  private Instant lastFullSweep = Instant.EPOCH;
  private final ImageLedger ledger;
  private final Duration retention;
  private final Clock clock;
  private final PrintWriter err;
  private final ExecutorService deleter = Executors.newSingleThreadExecutor(r -> daemon(r, "torpor-image-deleter"));
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "torpor-image-gc"));

  public ImageJanitor(ImageStore store, ImageLedger ledger, Duration retention, Clock clock, PrintWriter err) {
    if (retention.isNegative()) {
      throw new IllegalArgumentException("the image retention must not be negative, got " + retention);
    }
    this.store = store;
    this.sharedPacks = new SharedPacks(store);
    this.ledger = ledger;
    this.retention = retention;
    this.clock = clock;
    this.err = err;
  }

  /** Collects every {@code interval}, the first time at once. */
  public ImageJanitor start(Duration interval) {
    timer.scheduleWithFixedDelay(() -> {
      try {
        Report r = collect(false);
        if (!r.errors().isEmpty()) {
          log("image gc: " + r.errors().size() + " image(s) could not be deleted, retried in " + interval + ": " + r.errors().get(0));
        }
      } catch (IOException | RuntimeException e) {
        log("image gc failed, retried in " + interval + ": " + e);
      }
    }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /**
   * The registry now records {@code seq} as the workflow's newest image: deletes the one before
   * it in the background. Seqs go up by one per commit and each commit supersedes the one
   * before, so no listing is needed; an image whose deletion failed is collected with the rest
   * once the workflow finishes.
   */
  public void superseded(String workflowId, long seq) {
    if (seq <= 1) {
      return;
    }
    deleter.execute(() -> {
      try {
        store.deleteManifest(new ImageKey(workflowId, seq - 1));
        CrashPoint.reach(CrashPoint.IMAGE_UNLISTED);
        store.sweep(workflowId); // what only it read; what the newer image reads stays
      } catch (IOException | RuntimeException e) {
        log("could not delete image " + (seq - 1) + " of " + workflowId + " (collected when it finishes): " + e);
      }
    });
  }

  @Override
  public Summary summary(String workflowId) throws IOException {
    List<Long> seqs = store.seqs(workflowId);
    long bytes = 0;
    int count = 0;
    for (long seq : seqs) {
      Optional<ImageManifest> m = store.manifest(new ImageKey(workflowId, seq));
      if (m.isPresent()) {
        count++;
        bytes += m.get().packedBytes();
      }
    }
    return new Summary(count, bytes, seqs.isEmpty() ? 0 : seqs.get(seqs.size() - 1));
  }

  @Override
  public synchronized Report collect(boolean dryRun) throws IOException {
    Instant now = clock.instant();
    int deleted = 0;
    int kept = 0;
    long deletedBytes = 0;
    long keptBytes = 0;
    List<String> errors = new ArrayList<>();
    List<Finished> finished = ledger.finishedHoldingImages(BATCH);
    for (Finished f : finished) {
      boolean expired = !now.isBefore(f.finishedAt().plus(retention));
      if (f.kept() == ImagesKept.LAST && !expired) {
        continue; // nothing to do until the retention has passed
      }
      List<Long> seqs = store.seqs(f.workflowId());
      long last = seqs.isEmpty() ? -1 : seqs.get(seqs.size() - 1);
      boolean clean = true;
      Map<Long, Long> sizes = new HashMap<>();
      for (long seq : seqs) {
        sizes.put(seq, store.manifest(new ImageKey(f.workflowId(), seq)).map(ImageManifest::packedBytes).orElse(0L));
      }
      List<String> shared = List.of(); // the shared packs the workflow refers to, also through a crashed commit
      if (expired && !dryRun) {
        try {
          shared = sharedPacks.referredBy(f.workflowId());
        } catch (IOException | RuntimeException e) {
          errors.add(f.workflowId() + ": listing its shared packs: " + e.getMessage());
          continue;
        }
      }
      if (expired && !dryRun && !shared.isEmpty()) {
        // Before the manifests that name them go, so that a crash cannot lose which they were: no
        // image of a finished workflow is restored again.
        try {
          sharedPacks.release(f.workflowId(), shared);
          CrashPoint.reach(CrashPoint.SHARED_RELEASED);
        } catch (IOException | RuntimeException e) {
          errors.add(f.workflowId() + ": releasing its shared packs: " + e.getMessage());
          continue;
        }
      }
      for (long seq : seqs) {
        ImageKey key = new ImageKey(f.workflowId(), seq);
        long bytes = sizes.get(seq);
        if (seq == last && !expired) {
          kept++;
          keptBytes += bytes;
          continue;
        }
        try {
          if (!dryRun) {
            store.deleteManifest(key);
            CrashPoint.reach(CrashPoint.IMAGE_DELETED);
          }
          deleted++;
          deletedBytes += bytes;
        } catch (IOException | RuntimeException e) {
          clean = false;
          errors.add(key + ": " + e.getMessage());
        }
      }
      if (clean && !dryRun) {
        try {
          // Data objects no image left reads: all of them once none is left, also after a crash cut a sweep short.
          CrashPoint.reach(CrashPoint.IMAGE_UNLISTED);
          store.sweep(f.workflowId());
          if (expired && !shared.isEmpty()) {
            sharedPacks.sweep(shared, SHARED_GRACE, this::hasImages); // those no other workflow refers to
          }
        } catch (IOException | RuntimeException e) {
          clean = false;
          errors.add(f.workflowId() + ": " + e.getMessage());
        }
      }
      if (clean && !dryRun) {
        ledger.imagesKept(f.workflowId(), expired || seqs.isEmpty() ? ImagesKept.NONE : ImagesKept.LAST);
      }
    }
    if (!dryRun && !now.isBefore(lastFullSweep.plus(SHARED_GRACE))) {
      // References that a crash left behind (a commit cut short, a collection cut short after its
      // workflow's manifests went), and the packs only they kept.
      try {
        SharedPacks.Swept swept = sharedPacks.sweep(null, SHARED_GRACE, this::hasImages);
        lastFullSweep = now;
        if (swept.packsDeleted() > 0 || swept.staleReferencesDropped() > 0) {
          log("shared packs: deleted " + swept.packsDeleted() + ", dropped " + swept.staleReferencesDropped()
              + " stale reference(s), " + swept.packsKept() + " in use");
        }
      } catch (IOException | RuntimeException e) {
        errors.add("shared packs: " + e.getMessage());
      }
    }
    return new Report(dryRun, finished.size(), deleted, deletedBytes, kept, keptBytes, List.copyOf(errors));
  }

  private boolean hasImages(String workflowId) throws IOException {
    return !store.seqs(workflowId).isEmpty();
  }

  private void log(String message) {
    synchronized (err) {
      err.println("torpor server: " + message);
      err.flush();
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    deleter.shutdown();
    try {
      deleter.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
