package dev.torpor.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An image store the snapshot benchmark runs against: the local directory or S3 (S3Proxy, a real
 * S3-compatible server on this machine), each with or without image encryption (AES-256-GCM
 * under a key generated for the run, manifests signed), each with the worker's hot image cache
 * (the default) or without it ({@code --image-cache 0}: every wake fetches and unpacks). Named as on
 * the command line: {@code local}, {@code local+encrypted}, {@code s3}, {@code s3+encrypted}, and
 * each of these with {@code +nocache}.
 */
record StoreVariant(boolean s3, boolean encrypted, boolean cached) {
  static final StoreVariant LOCAL = new StoreVariant(false, false, true);
  static final StoreVariant LOCAL_NOCACHE = new StoreVariant(false, false, false);
  static final StoreVariant S3 = new StoreVariant(true, false, true);
  static final StoreVariant S3_NOCACHE = new StoreVariant(true, false, false);
  static final StoreVariant S3_ENCRYPTED = new StoreVariant(true, true, true);
  /**
   * What {@code --s3} selects: the local figures beside S3's, plain and encrypted, each with the
   * image cache, and the local store and S3 without it, in one run.
   */
  static final List<StoreVariant> WITH_S3 = List.of(LOCAL, LOCAL_NOCACHE, S3, S3_NOCACHE, S3_ENCRYPTED);

  /** The name on the command line and in reports, e.g. {@code s3+encrypted} or {@code s3+nocache}. */
  String label() {
    return (s3 ? "s3" : "local") + (encrypted ? "+encrypted" : "") + (cached ? "" : "+nocache");
  }

  /** The label as it may appear in workflow ids and file names, e.g. {@code s3-encrypted}. */
  String slug() {
    return label().replace('+', '-');
  }

  /** This store without encryption. */
  StoreVariant plain() {
    return new StoreVariant(s3, false, cached);
  }

  /** This store with the image cache. */
  StoreVariant withCache() {
    return new StoreVariant(s3, encrypted, true);
  }

  /**
   * Parses a comma-separated list such as {@code local,s3,s3+encrypted}.
   *
   * @throws IllegalArgumentException naming the bad entry and the choices
   */
  static List<StoreVariant> parseList(String list) {
    List<StoreVariant> out = new ArrayList<>();
    for (String entry : list.split(",", -1)) {
      StoreVariant v = parse(entry.strip().toLowerCase(Locale.ROOT));
      if (out.contains(v)) {
        throw new IllegalArgumentException("store '" + v.label() + "' is listed twice in --stores=" + list);
      }
      out.add(v);
    }
    return List.copyOf(out);
  }

  private static StoreVariant parse(String name) {
    for (boolean s3 : new boolean[] {false, true}) {
      for (boolean encrypted : new boolean[] {false, true}) {
        for (boolean cached : new boolean[] {true, false}) {
          StoreVariant v = new StoreVariant(s3, encrypted, cached);
          if (v.label().equals(name)) {
            return v;
          }
        }
      }
    }
    throw new IllegalArgumentException("unknown store '" + name + "' in --stores: use local, local+encrypted, s3 or"
        + " s3+encrypted, each optionally with +nocache (no image cache), comma-separated");
  }

  @Override
  public String toString() {
    return label();
  }
}
