package dev.torpor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control-plane part alone ({@code control-plane N FILE}), which {@code --quick} leaves out,
 * at the smallest sizes: a real {@code torpor server}, real workflow JVMs frozen and restored by
 * CRIU; checks the database statements per cycle it reports (issue #12).
 */
class ControlPlaneBenchmarkIT {
  @TempDir
  Path out;

  @AfterEach
  void clearProperties() {
    System.clearProperty("torpor.bench.warmup");
    System.clearProperty("torpor.bench.statementCycles");
  }

  @Test
  void reportsStatementsPerSuspendResumeCycle() throws Exception {
    System.setProperty("torpor.bench.warmup", "2");
    System.setProperty("torpor.bench.statementCycles", "2");
    Path md = out.resolve("control-plane.md");

    int code = Bench.run(new String[] {"control-plane", "3", md.toString()});

    assertThat(code).as("exit code").isZero();
    String report = Files.readString(md, StandardCharsets.UTF_8);
    assertThat(report).contains("Database statements", "suspend+resume cycles per second");
    double perCycle = cell(report, "| statements per suspend+resume cycle (2 `Hello` workflows");
    double torpor = cell(report, "|   on Torpor's tables");
    double quartz = cell(report, "|   on Quartz's (`QRTZ_`) tables");
    // A cycle is a handful of registry transactions and Quartz's schedule, fire and delete of two jobs.
    assertThat(perCycle).isBetween(10.0, 500.0);
    assertThat(torpor).isPositive();
    assertThat(quartz).isPositive();
    assertThat(torpor + quartz).isEqualTo(perCycle);
    double down = cell(report, "|   from submission to SUSPENDED");
    double up = cell(report, "|   from SUSPENDED to the end");
    assertThat(down).isPositive();
    assertThat(up).isPositive();
    assertThat(down + up).isEqualTo(perCycle);
    assertThat(cell(report, "| transactions committed per cycle")).isPositive();
    assertThat(cell(report, "| statements per wake in the main run")).isPositive();
  }

  /** The value column of the table row that begins with {@code prefix}. */
  private static double cell(String md, String prefix) {
    String row = Arrays.stream(md.split("\n")).filter(l -> l.startsWith(prefix)).findFirst()
        .orElseThrow(() -> new AssertionError("no row '" + prefix + "' in:\n" + md));
    String[] cells = row.split("\\|");
    return Double.parseDouble(cells[cells.length - 1].strip());
  }
}
