package dev.torpor.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An image store the snapshot benchmark runs against: the local directory or S3 (S3Proxy, a real
 * S3-compatible server on this machine), each with or without image encryption (AES-256-GCM
 * under a key generated for the run, manifests signed). Named as on the command line: {@code
 * local}, {@code local+encrypted}, {@code s3}, {@code s3+encrypted}.
 */
record StoreVariant(boolean s3, boolean encrypted) {
  static final StoreVariant LOCAL = new StoreVariant(false, false);
  static final StoreVariant S3 = new StoreVariant(true, false);
  static final StoreVariant S3_ENCRYPTED = new StoreVariant(true, true);
  /** What {@code --s3} selects: the local figures beside S3's, plain and encrypted, in one run. */
  static final List<StoreVariant> WITH_S3 = List.of(LOCAL, S3, S3_ENCRYPTED);

  /** The name on the command line and in reports, e.g. {@code s3+encrypted}. */
  String label() {
    return (s3 ? "s3" : "local") + (encrypted ? "+encrypted" : "");
  }

  /** The label as it may appear in workflow ids and file names, e.g. {@code s3-encrypted}. */
  String slug() {
    return label().replace('+', '-');
  }

  /** This store without encryption. */
  StoreVariant plain() {
    return new StoreVariant(s3, false);
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
        StoreVariant v = new StoreVariant(s3, encrypted);
        if (v.label().equals(name)) {
          return v;
        }
      }
    }
    throw new IllegalArgumentException(
        "unknown store '" + name + "' in --stores: use local, local+encrypted, s3 or s3+encrypted, comma-separated");
  }

  @Override
  public String toString() {
    return label();
  }
}
