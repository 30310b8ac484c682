package dev.torpor.launcher.cli;

import dev.torpor.launcher.internal.CriuEngine;
import dev.torpor.launcher.internal.InMemorySupervisor;
import dev.torpor.launcher.internal.PrivateDirs;
import dev.torpor.launcher.internal.WorkflowUser;
import dev.torpor.launcher.internal.Worker;
import dev.torpor.launcher.internal.WorkflowEvent;
import dev.torpor.storage.ImageStore;
import dev.torpor.storage.LocalDirectoryImageStore;
import dev.torpor.storage.S3ImageStore;
import dev.torpor.storage.S3StoreConfig;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/** Where an embedded worker keeps its data and images, shared by the commands that run one. */
public final class WorkerOptions {
  /** The environment variable that may hold the image keys (instead of a key file). */
  static final String KEYS_ENV = "TORPOR_IMAGE_KEYS";

  @Option(
      names = "--data",
      defaultValue = "${TORPOR_DATA:-${sys:user.home}/.torpor}",
      description = "Data directory: logs, scratch space, and the image store unless --store is given"
          + " (env TORPOR_DATA; default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(
      names = "--store",
      defaultValue = "${TORPOR_STORE}",
      description = "Where images go: a directory, or s3://BUCKET[/PREFIX] for S3 or an S3-compatible server"
          + " (credentials from the AWS SDK's chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance"
          + " role) (env TORPOR_STORE; default: <data>/store).")
  String store;

  @Option(names = "--s3-endpoint", defaultValue = "${TORPOR_S3_ENDPOINT}",
      description = "Endpoint of an S3-compatible server, e.g. http://127.0.0.1:9000 (env TORPOR_S3_ENDPOINT;"
          + " default: AWS S3).")
  String s3Endpoint;

  @Option(names = "--s3-region", defaultValue = "${TORPOR_S3_REGION}",
      description = "Region of the bucket (env TORPOR_S3_REGION; default: the SDK's region chain, else us-east-1"
          + " with --s3-endpoint).")
  String s3Region;

  @Option(names = "--s3-path-style", defaultValue = "${TORPOR_S3_PATH_STYLE}", arity = "1",
      description = "true for path-style addressing (env TORPOR_S3_PATH_STYLE; default: true with --s3-endpoint).")
  String s3PathStyle;

  @Option(names = "--s3-sse", defaultValue = "${TORPOR_S3_SSE}",
      description = "Server-side encryption: none, s3 (SSE-S3) or kms (SSE-KMS) (env TORPOR_S3_SSE; default: none).")
  String s3Sse;

  @Option(names = "--s3-kms-key-id", defaultValue = "${TORPOR_S3_KMS_KEY_ID}",
      description = "KMS key for --s3-sse kms (env TORPOR_S3_KMS_KEY_ID; default: the bucket's AWS-managed key).")
  String s3KmsKeyId;

  @Option(names = "--s3-part-size", defaultValue = "${TORPOR_S3_PART_SIZE}",
      description = "Multipart part size, e.g. 8MiB (env TORPOR_S3_PART_SIZE; default: 8MiB, at least 5MiB).")
  String s3PartSize;

  @Option(names = "--s3-parallelism", defaultValue = "${TORPOR_S3_PARALLELISM}",
      description = "Parts uploaded and ranges downloaded at once per image (env TORPOR_S3_PARALLELISM; default: 4).")
  String s3Parallelism;

  @Option(names = "--image-key-file", defaultValue = "${TORPOR_IMAGE_KEY_FILE}",
      description = "Encrypt images (AES-256-GCM) and sign their manifests with the keys in this file: one base64"
          + " 32-byte key per line, the first one current, the others kept to read older images; make one with"
          + " `torpor images keygen`. The environment variable TORPOR_IMAGE_KEYS may hold the keys instead"
          + " (env TORPOR_IMAGE_KEY_FILE; default: no encryption).")
  Path imageKeyFile;

  @Option(
      names = "--run-dir",
      defaultValue = "${TORPOR_RUN_BASE:-/var/lib/torpor/run}",
      description = "Base of workflow run directories (sockets, working directory, the class path copies workflows"
          + " see). Keep it short and the same on every worker that may restore the same images; its parents must be"
          + " world-executable (env TORPOR_RUN_BASE; default: ${DEFAULT-VALUE}).")
  Path runBase;

  @Option(
      names = "--workflow-user",
      defaultValue = "${TORPOR_WORKFLOW_USER:-2000000:2000000}",
      description = "The uid:gid workflow JVMs run as, in their own user namespace, with no capabilities; uid+1:gid+1"
          + " is that namespace's root (used only by CRIU while it restores). No account may own these ids"
          + " (env TORPOR_WORKFLOW_USER; default: ${DEFAULT-VALUE}).")
  String workflowUser;

  @Option(
      names = "--allow-unencrypted-images",
      description = "Let an s3:// store hold images without image keys: plaintext workflow memory, and unsigned images"
          + " that whoever can write the bucket could have this machine restore. Warned at every start.")
  boolean allowUnencryptedImages;

  @Option(
      names = "--store-retry",
      defaultValue = "${TORPOR_STORE_RETRY:-60s}",
      converter = DurationConverter.class,
      description = "How long to keep retrying an image commit the store refuses before the workflow is restored"
          + " from its local dump and waits in memory, not durable until its next wait (env TORPOR_STORE_RETRY;"
          + " default: ${DEFAULT-VALUE}).")
  java.time.Duration storeRetry;

  @Option(
      names = "--min-checkpoint-wait",
      defaultValue = "${TORPOR_MIN_CHECKPOINT_WAIT:-0s}",
      converter = DurationConverter.class,
      description = "A wait due sooner than this (a timer, or a signal's deadline) is held in memory, not"
          + " checkpointed: it keeps its JVM and slot, and if the worker dies meanwhile the workflow resumes from its"
          + " last image (env TORPOR_MIN_CHECKPOINT_WAIT; default: ${DEFAULT-VALUE}, every wait checkpoints).")
  java.time.Duration minCheckpointWait;

  @Option(
      names = "--image-cache",
      defaultValue = "${TORPOR_IMAGE_CACHE:-256MiB}",
      converter = SizeConverter.class,
      description = "How much of the worker's scratch space (a tmpfs, /dev/shm, where it can be: memory) keeps the"
          + " uncompressed files of the images it committed, so that waking one on this worker restores it without"
          + " fetching, decrypting and unpacking it; the store keeps the durable copy. 0 turns it off"
          + " (env TORPOR_IMAGE_CACHE; default: ${DEFAULT-VALUE}).")
  long imageCache;

  @Option(
      names = "--no-aslr",
      description = "Smaller images, weaker defence: workflow JVMs run without address space layout randomization"
          + " (the ADDR_NO_RANDOMIZE personality, set again at each restore) and map the JDK's class data archive at its"
          + " fixed base address instead of relocating it (-XX:ArchiveRelocationMode=0), so its pages stay clean and"
          + " are not dumped, and the same pages sit at the same addresses in every workflow. A memory-corruption"
          + " exploit in a workflow JVM then knows its layout. Warned at every start.")
  boolean noAslr;

  @Option(
      names = "--image-format",
      defaultValue = "${TORPOR_IMAGE_FORMAT:-2}",
      description = "The format new images are written in: 2 (chunked: an image stores only the 4 KiB chunks its"
          + " workflow's previous image lacks) or 1 (one tar+zstd object per image, which Torpor 0.1 workers read)."
          + " Both are always read. Set 1 while workers of an older Torpor share the store"
          + " (env TORPOR_IMAGE_FORMAT; default: ${DEFAULT-VALUE}).")
  int imageFormat;

  @Option(
      names = "--lib-dir",
      defaultValue = "${TORPOR_LIB_DIR}",
      description = "Where the agent's jars and the application jars fetched from the store are kept, at"
          + " content-addressed paths a restored JVM reopens: the same on every worker of a cluster"
          + " (env TORPOR_LIB_DIR; default: <data>).")
  Path libDir;

  /** Where jars go: {@code --lib-dir}, else the data directory. */
  Path lib() {
    return libDir != null ? libDir : data;
  }

  /** The worker configuration these options describe; loads the image keys, if any. */
  Worker.Config workerConfig(OutputStream tee, PrintWriter err) throws IOException {
    if (noAslr) {
      err.println("torpor: warning: --no-aslr: workflow JVMs run without address space layout randomization, their"
          + " class data archive at a fixed address: a memory-corruption exploit in one knows its layout");
      err.flush();
    }
    return new Worker.Config(data, runBase, tee, java.time.Duration.ofSeconds(5)).withCommitRetry(storeRetry)
        .withMinCheckpointWait(minCheckpointWait).withImageCache(imageCache).withoutAslr(noAslr)
        .withImageFormat(imageFormat)
        .withKeys(keyring(err)).withLibDir(lib()).withUser(WorkflowUser.parse(workflowUser));
  }

  private Optional<ImageKeyring> keyring(PrintWriter err) throws IOException {
    String fromEnv = System.getenv(KEYS_ENV);
    if (imageKeyFile != null && fromEnv != null && !fromEnv.isBlank()) {
      throw new IllegalArgumentException("both --image-key-file (or TORPOR_IMAGE_KEY_FILE) and " + KEYS_ENV
          + " are set: keep one source of image keys");
    }
    Optional<ImageKeyring> keys = imageKeyFile != null ? Optional.of(ImageKeyring.fromFile(imageKeyFile))
        : fromEnv != null && !fromEnv.isBlank() ? Optional.of(ImageKeyring.fromEnvironmentValue(KEYS_ENV, fromEnv))
        : Optional.empty();
    keys.flatMap(ImageKeyring::warning).ifPresent(w -> {
      err.println("torpor: warning: " + w);
      err.flush();
    });
    return keys;
  }

  /**
   * Opens the image store and checks that it works (an S3 bucket is reached and written at once).
   * An S3 store needs image keys, unless the operator explicitly allowed plaintext images.
   */
  ImageStore openStore(PrintWriter err) throws IOException {
    if (store != null && store.startsWith("s3:")) {
      String fromEnv = System.getenv(KEYS_ENV);
      boolean keys = imageKeyFile != null || fromEnv != null && !fromEnv.isBlank();
      if (!keys && !allowUnencryptedImages) {
        throw new IllegalArgumentException("the S3 store " + store + " would hold workflow memory in plaintext and"
            + " unsigned, and whoever can write the bucket could have this machine restore an image of their making:"
            + " make a key with `torpor images keygen > keys && chmod 600 keys` and pass --image-key-file keys (the"
            + " same on every node), or accept the risk with --allow-unencrypted-images");
      }
      if (!keys) {
        err.println("torpor: warning: --allow-unencrypted-images: images in " + store + " are plaintext and unsigned;"
            + " anyone who can read the bucket reads workflow memory, anyone who can write it chooses what is restored");
        err.flush();
      }
      Map<String, String> options = new LinkedHashMap<>();
      put(options, "endpoint", s3Endpoint);
      put(options, "region", s3Region);
      put(options, "pathStyle", s3PathStyle);
      put(options, "sse", s3Sse);
      put(options, "kmsKeyId", s3KmsKeyId);
      put(options, "partSize", s3PartSize);
      put(options, "parallelism", s3Parallelism);
      return S3ImageStore.open(S3StoreConfig.parse(store, options));
    }
    for (String s3Only : new String[] {s3Endpoint, s3Region, s3PathStyle, s3Sse, s3KmsKeyId, s3PartSize, s3Parallelism}) {
      if (s3Only != null && !s3Only.isBlank()) {
        throw new IllegalArgumentException("an --s3-* option is set but --store is not an s3:// URI: set"
            + " --store s3://BUCKET[/PREFIX] or drop the --s3-* options");
      }
    }
    Path dir = store != null && !store.isBlank() ? Path.of(store) : data.resolve("store");
    PrivateDirs.ensure(dir); // images are workflow memory: root's alone
    return new LocalDirectoryImageStore(dir);
  }

  private static void put(Map<String, String> options, String key, String value) {
    if (value != null && !value.isBlank()) {
      options.put(key, value.strip());
    }
  }

  /** A worker with CRIU, the local store and an in-memory supervisor. */
  Worker worker(ImageStore imageStore, InMemorySupervisor supervisor, OutputStream tee, Consumer<WorkflowEvent> events,
      PrintWriter err) throws IOException {
    return worker(imageStore, supervisor, supervisor::attach, tee, events, err);
  }

  /** A worker with CRIU, the local store and {@code supervisor}, which {@code attach} connects to it. */
  Worker worker(ImageStore imageStore, dev.torpor.scheduler.WorkerCallbacks supervisor, Consumer<Worker> attach,
      OutputStream tee, Consumer<WorkflowEvent> events, PrintWriter err) throws IOException {
    PrivateDirs.ensure(data);
    CriuEngine criu = CriuEngine.locate();
    Worker w = new Worker(workerConfig(tee, err), imageStore, criu, supervisor, events);
    attach.accept(w);
    return w;
  }

  static Consumer<WorkflowEvent> printer(PrintWriter err, boolean quiet) {
    return e -> {
      if (!quiet) {
        err.println("torpor: " + EventText.describe(e));
        err.flush();
      }
    };
  }
}
