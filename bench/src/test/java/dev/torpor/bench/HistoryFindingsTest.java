package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.torpor.bench.HistoryBenchmark.TemporalPoint;
import dev.torpor.bench.HistoryBenchmark.TorporPoint;
import java.util.List;
import org.junit.jupiter.api.Test;

class HistoryFindingsTest {
  private static Stats at(double median) {
    return new Stats(10, median, median * 1.1, median * 0.9, median * 1.2);
  }

  private static TorporPoint torpor(int x, double resume) {
    return new TorporPoint(x, at(resume), at(120), at(5), at(25), 10);
  }

  private static TemporalPoint temporal(int n, double resume) {
    return new TemporalPoint(n, at(resume), at(resume / 2), n * 6, n * 4e-4, true, "1.31.0 on Java 17");
  }

  @Test
  void theCrossoverIsInterpolatedOnLogScales() {
    // Torpor flat at 80 ms; Temporal 20 ms at N=10, 320 ms at N=1000: equal at 80 ms, i.e. halfway
    // in log(ms), so halfway in log(N): N = 100.
    var c = HistoryBenchmark.crossover(List.of(torpor(10, 80), torpor(1000, 80)),
        List.of(temporal(10, 20), temporal(1000, 320)));
    assertThat(c).hasValueSatisfying(s -> assertThat(s).contains("N ≈ 100 "));
  }

  @Test
  void noCrossoverWhenOneEngineWinsEverywhere() {
    assertThat(HistoryBenchmark.crossover(List.of(torpor(10, 80), torpor(1000, 80)),
        List.of(temporal(10, 90), temporal(1000, 900)))).isEmpty();
  }

  @Test
  void theVerdictsSayWhereTemporalWinsAndWhetherTheTargetsAreMet() {
    List<String> v = HistoryBenchmark.verdicts(List.of(torpor(10, 80), torpor(10_000, 100)),
        List.of(torpor(1, 80), torpor(500, 1500)), List.of(temporal(10, 20), temporal(10_000, 600)));

    assertThat(v.get(0)).contains("1.25×").contains("MISSED");
    assertThat(v).anySatisfy(s -> assertThat(s).startsWith("N = 10: **Temporal** resumes faster, 20.0 against 80.0"));
    assertThat(v).anySatisfy(s -> assertThat(s).startsWith("N = 10,000: Torpor resumes faster").endsWith("target met"));
    // 600 ms is reached 520/1420 of the way from 1 to 500 MiB: about 184 MiB.
    assertThat(v).anySatisfy(s -> assertThat(s).contains("about 184 MiB"));
  }
}
