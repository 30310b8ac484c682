package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvTest {
  @TempDir
  Path dir;

  @Test
  void fieldsWithCommasOrQuotesAreQuoted() {
    assertThat(Csv.field("plain")).isEqualTo("plain");
    assertThat(Csv.field("1,000")).isEqualTo("\"1,000\"");
    assertThat(Csv.field("say \"hi\"")).isEqualTo("\"say \"\"hi\"\"\"");
    assertThat(Csv.field(null)).isEmpty();
  }

  @Test
  void everyMarkdownTableBecomesAFileNamedAfterItsHeading() throws Exception {
    String md = String.join("\n",
        "# Benchmarks", "", "## Summary", "", "| figure | value |", "| :--- | ---: |", "| resume, ms | 84.0 |", "",
        "## Density (issue #6): 10,000 suspended", "", "text", "", "| a | b |", "| - | - |", "| 1 | 2 |", "",
        "| c |", "| - |", "| 3 |", "");

    int n = Csv.writeTables(md, dir);

    assertThat(n).isEqualTo(3);
    assertThat(Files.readAllLines(dir.resolve("tables/summary-1.csv"), StandardCharsets.UTF_8))
        .containsExactly("figure,value", "\"resume, ms\",84.0");
    assertThat(Files.readAllLines(dir.resolve("tables/density-issue-6-10-000-suspended-1.csv")))
        .containsExactly("a,b", "1,2");
    assertThat(Files.readAllLines(dir.resolve("tables/density-issue-6-10-000-suspended-2.csv")))
        .containsExactly("c", "3");
  }

  @Test
  void whatIsWrittenReadsBackFieldForField() throws Exception {
    Path f = dir.resolve("round.csv");
    List<String[]> rows = List.of(new String[] {"figure", "this run"},
        new String[] {"suspend p50 (p95), local store, ms", "99.5 (145.5)"}, new String[] {"say \"hi\", twice", ""});
    Csv.write(f, rows);

    assertThat(Csv.read(f)).containsExactly(rows.toArray(String[][]::new));
    assertThat(Bench.Report.previousSummary(dir.getParent().resolve("nothing-here"))).isEmpty();
  }

  @Test
  void rowsAreWrittenWithCrlf() throws Exception {
    Path f = dir.resolve("x.csv");
    Csv.write(f, List.of(new String[] {"n", "ms"}, new String[] {"10", "1.5"}));
    assertThat(Files.readString(f)).isEqualTo("n,ms\r\n10,1.5\r\n");
  }
}
