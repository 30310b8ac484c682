package dev.torpor.bench;

import dev.torpor.storage.ImageStore;
import dev.torpor.storage.LocalDirectoryImageStore;
import dev.torpor.storage.S3ImageStore;
import dev.torpor.storage.S3ProxyProcess;
import dev.torpor.storage.S3StoreConfig;
import dev.torpor.storage.crypto.ImageCipher;
import dev.torpor.storage.crypto.ImageKeyring;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarFile;

/**
 * The image stores of one benchmark run, opened as {@code torpor run} opens them: local
 * directories under the run's data directory, and prefixes of one bucket on S3Proxy, a real
 * S3-compatible server that this class starts as its own process on 127.0.0.1 the first time an
 * S3 store is asked for (the storage module's test fixture {@link S3ProxyProcess}, shaded into
 * the benchmark jar). Encrypted stores share one image key, generated for the run and written to
 * a key file readable by its owner only, as {@code torpor images keygen} would. Closing closes
 * the stores, then stops S3Proxy and deletes its objects.
 */
final class BenchStores implements AutoCloseable {
  static final String BUCKET = "torpor-bench";

  private final Path dir;
  private final List<ImageStore> opened = new ArrayList<>();
  private boolean local;
  private S3ProxyProcess s3;
  private ImageKeyring keys;

  BenchStores(Path dir) {
    this.dir = dir;
  }

  /**
   * Opens a new store of {@code variant} named {@code name}: the directory {@code <dir>/<name>},
   * or the prefix {@code <name>} of the bucket, whose access {@link S3ImageStore#open} checks.
   */
  ImageStore open(StoreVariant variant, String name) throws IOException {
    ImageStore store;
    if (variant.s3()) {
      S3ProxyProcess server = s3();
      store = S3ImageStore.open(server.configFor(BUCKET).prefix(name).build(), server.credentials());
    } else {
      store = new LocalDirectoryImageStore(dir.resolve(name));
      local = true;
    }
    opened.add(store);
    return store;
  }

  /** The image keys of {@code variant}: the run's key if it is encrypted. */
  Optional<ImageKeyring> keys(StoreVariant variant) throws IOException {
    if (!variant.encrypted()) {
      return Optional.empty();
    }
    if (keys == null) {
      Path file = dir.resolve("image-keys");
      Files.createDirectories(dir);
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, ImageKeyring.generate() + "\n", StandardCharsets.US_ASCII);
      keys = ImageKeyring.fromFile(file);
    }
    return Optional.of(keys);
  }

  /** The cipher of {@code variant}, if it is encrypted. */
  Optional<ImageCipher> cipher(StoreVariant variant) throws IOException {
    return keys(variant).map(ImageCipher::new);
  }

  /**
   * What the stores opened so far are, for the report's machine section: {@code image store}
   * (local directory, S3 or both) and, if a store encrypts, {@code image encryption}.
   */
  Map<String, String> describe() {
    List<String> kinds = new ArrayList<>();
    if (local) {
      kinds.add("local directory on " + SnapshotBenchmark.filesystemOf(dir).orElse("an unknown file system")
          + " (fsync on commit)");
    }
    if (s3 != null) {
      S3StoreConfig c = s3.configFor(BUCKET).build();
      kinds.add("S3: S3Proxy " + s3ProxyVersion() + " (`org.gaul:s3proxy`, its filesystem-nio2 backend on "
          + SnapshotBenchmark.filesystemOf(s3.basedir()).orElse("an unknown file system")
          + ", no fsync) as its own JVM on this machine, over HTTP on 127.0.0.1; the AWS SDK v2 sync client with"
          + " part size " + (c.partSize() >> 20) + " MiB, " + c.parallelism() + " parts or ranges in flight");
    }
    Map<String, String> m = new LinkedHashMap<>();
    m.put("image store", String.join("; ", kinds));
    if (keys != null) {
      m.put("image encryption", ImageCipher.SCHEME + " (Tink streaming AEAD), one key generated for the run;"
          + " manifests signed (HMAC-SHA256)");
    }
    return m;
  }

  private S3ProxyProcess s3() throws IOException {
    if (s3 == null) {
      if (System.getProperty(S3ProxyProcess.JAR_PROPERTY) == null) {
        System.setProperty(S3ProxyProcess.JAR_PROPERTY, defaultS3ProxyJar().toString());
      }
      s3 = S3ProxyProcess.launch();
      s3.createBucket(BUCKET);
      log("S3Proxy " + s3ProxyVersion() + " answering at " + s3.endpoint() + ", bucket " + BUCKET
          + ", objects in " + s3.basedir());
    }
    return s3;
  }

  /**
   * {@code s3proxy/s3proxy.jar} beside the benchmark jar (or beside {@code target/classes}),
   * where the bench module's build copies it from Maven Central.
   */
  static Path defaultS3ProxyJar() throws IOException {
    Path jar = SnapshotBenchmark.codeSource(BenchStores.class).getParent().resolve("s3proxy").resolve("s3proxy.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("the S3 stores need the S3Proxy jar, which is not at " + jar + ": build the"
          + " benchmark with `mvn -B -ntp -pl bench package -DskipTests`, which copies"
          + " org.gaul:s3proxy:jar-with-dependencies from Maven Central there, or name one with -D"
          + S3ProxyProcess.JAR_PROPERTY + "=PATH");
    }
    return jar;
  }

  private static String s3ProxyVersion() {
    try (JarFile jar = new JarFile(System.getProperty(S3ProxyProcess.JAR_PROPERTY))) {
      String v = jar.getManifest() == null ? null : jar.getManifest().getMainAttributes().getValue("Implementation-Version");
      return v == null ? "(version unknown)" : v;
    } catch (IOException e) {
      return "(version unknown: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    for (ImageStore store : opened) {
      store.close();
    }
    opened.clear();
    if (s3 != null) {
      s3.close();
      s3 = null;
    }
  }

  private static void log(String msg) {
    System.err.println("torpor-bench: " + msg);
  }
}
