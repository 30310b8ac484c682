package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmarks' one entry point, end to end at small sizes ({@code --quick}): real workflow
 * JVMs frozen and restored by CRIU, Temporal's SDK and test server in a JVM of their own, a real
 * {@code torpor server} holding suspended workflows; then the report, its CSV files and its
 * charts, read back.
 */
class BenchIT {
  @TempDir
  Path out;

  @Test
  void oneCommandWritesTheReportItsCsvFilesAndItsCharts() throws Exception {
    int code = Bench.run(new String[] {"--quick", "--out=" + out});

    assertThat(code).as("exit code of the quick run").isZero();
    String md = Files.readString(out.resolve("benchmarks.md"), StandardCharsets.UTF_8);
    assertThat(md).contains("## Summary", "## Snapshot engine", "## Resume cost against history length",
        "## Density", "Machine:", "CRIU: 4.", "java -jar bench/target/torpor-bench.jar --quick");
    assertThat(md).doesNotContain("Problems in this run");
    assertThat(md).as("the report is rewritten after each part; the last one is whole")
        .doesNotContain("This run has not finished");
    assertThat(md).as("issue #15: where the curves cross, if they do").contains("| history length N where the resume curves cross");

    Path assets = out.resolve("benchmarks");
    for (String chart : List.of("resume-vs-history.png", "resume-vs-heap.png", "phases.png", "density.png")) {
      BufferedImage png = ImageIO.read(assets.resolve(chart).toFile());
      assertThat(png).as(chart).isNotNull();
      assertThat(png.getWidth()).as(chart).isEqualTo(Charts.WIDTH);
      assertThat(md).contains("](benchmarks/" + chart + ")");
    }

    // Both engines measured at both N: a replay costs more with 100 times the history, a
    // restore does not depend on it (within a wide margin here: 2 samples per N).
    List<String[]> history = csv(assets.resolve("resume-vs-history.csv"));
    assertThat(history).hasSize(3);
    String[] n10 = history.get(1);
    String[] n1000 = history.get(2);
    assertThat(n10[0]).isEqualTo("10");
    assertThat(n1000[0]).isEqualTo("1000");
    assertThat(Double.parseDouble(n1000[7])).as("Temporal replay p50 at N=1000 against N=10")
        .isGreaterThan(2 * Double.parseDouble(n10[7]));
    assertThat(Integer.parseInt(n1000[9])).as("Temporal history events at N=1000").isGreaterThan(3_000);
    assertThat(Double.parseDouble(n1000[1])).as("Torpor resume p50 at N=1000 against N=10")
        .isLessThan(2 * Double.parseDouble(n10[1]));

    // Torpor's restore grows with the heap it brings back.
    List<String[]> heap = csv(assets.resolve("resume-vs-heap.csv"));
    assertThat(heap).hasSize(3);
    // Raw: what a restore brings back. A further image stores only the pages that changed (format 2).
    assertThat(Double.parseDouble(heap.get(2)[6])).as("raw MB with 50 MiB of random heap").isGreaterThan(50);
    assertThat(Double.parseDouble(heap.get(2)[5])).as("stored MB of a further image with 50 MiB of random heap")
        .isLessThan(Double.parseDouble(heap.get(2)[6]) / 10);
    assertThat(Double.parseDouble(heap.get(2)[1])).isGreaterThan(Double.parseDouble(heap.get(1)[1]));

    // All 20 suspended, none resident, and an image each.
    List<String[]> density = csv(assets.resolve("density.csv"));
    String[] end = density.get(density.size() - 1);
    assertThat(end[0]).isEqualTo("20");
    assertThat(end[5]).as("workflow processes resident").isEqualTo("0");
    assertThat(Long.parseLong(end[3])).as("image store bytes").isGreaterThan(20L * 1_000_000);

    // Again with --no-aslr: workflows of one program laid out alike share most of their first images' chunks.
    assertThat(md).contains("## Density with `--no-aslr`: 20 suspended workflows");
    double aslr = summaryMb(md, "stored per suspended workflow (20 suspended), MB");
    double noAslr = summaryMb(md, "stored per suspended workflow (20 suspended, `--no-aslr`), MB");
    // Under half with G1 (2.17 against 5.40 MB here); Serial, the workflow JVMs' default since, lays out
    // its heap less alike from one JVM to the next (2.92 against 5.59 MB): both measured with 20.
    assertThat(noAslr).as("MB stored per suspended workflow with --no-aslr, against " + aslr + " without")
        .isLessThan(aslr * 0.6);

    try (Stream<Path> tables = Files.list(assets.resolve("tables"))) {
      assertThat(tables.map(p -> p.getFileName().toString()))
          .contains("summary-1.csv")
          .hasSizeGreaterThanOrEqualTo(6);
    }
  }

  /** The value of the summary row {@code metric}, in MB. */
  private static double summaryMb(String md, String metric) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\| " + java.util.regex.Pattern.quote(metric)
        + "\\s*\\|\\s*([0-9.]+)").matcher(md);
    assertThat(m.find()).as("summary row '" + metric + "'").isTrue();
    return Double.parseDouble(m.group(1));
  }

  private static List<String[]> csv(Path file) throws Exception {
    return Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(l -> l.split(",", -1)).toList();
  }
}
