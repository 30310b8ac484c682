package dev.torpor.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Order statistics of a sample. The median is the middle value (the mean of the two middle
 * values for an even count); a percentile is by nearest rank, so it is always a value that was
 * observed: p95 of 22 samples is the 21st smallest.
 */
public record Stats(int count, double median, double p95, double min, double max) {

  /** The statistics of {@code values}, NaNs left out; all NaN (and count 0) for an empty sample. */
  public static Stats of(Collection<? extends Number> values) {
    double[] xs = values.stream().mapToDouble(Number::doubleValue).filter(x -> !Double.isNaN(x)).toArray();
    if (xs.length == 0) {
      return new Stats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    Arrays.sort(xs);
    return new Stats(xs.length, medianOfSorted(xs), percentileOfSorted(xs, 95), xs[0], xs[xs.length - 1]);
  }

  /** The median of {@code values} (NaN if there are none). */
  public static double medianOf(double... values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] xs = values.clone();
    Arrays.sort(xs);
    return medianOfSorted(xs);
  }

  /**
   * The nearest-rank {@code p}th percentile of {@code values}: the smallest value with at least
   * p% of the sample at or below it (NaN if there are none).
   *
   * @param p from 0 (exclusive) to 100 (inclusive)
   */
  public static double percentileOf(double p, double... values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] xs = values.clone();
    Arrays.sort(xs);
    return percentileOfSorted(xs, p);
  }

  private static double medianOfSorted(double[] xs) {
    int n = xs.length;
    return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  }

  private static double percentileOfSorted(double[] xs, double p) {
    if (!(p > 0 && p <= 100)) {
      throw new IllegalArgumentException("percentile must be in (0, 100]: " + p);
    }
    int rank = (int) Math.ceil(p / 100 * xs.length - 1e-9); // 1-based; tolerate 0.95 * 20 = 19.000000000000004
    return xs[Math.max(rank, 1) - 1];
  }
}
