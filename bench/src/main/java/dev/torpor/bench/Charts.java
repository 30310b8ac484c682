package dev.torpor.bench;

import dev.torpor.bench.HistoryBenchmark.TemporalPoint;
import dev.torpor.bench.HistoryBenchmark.TorporPoint;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The report's PNG charts, drawn with XChart from the benchmarks' medians. */
final class Charts {
  static final int WIDTH = 900;
  static final int HEIGHT = 540;
  private static final Color TORPOR = new Color(0x1f, 0x77, 0xb4);
  private static final Color TEMPORAL = new Color(0xd6, 0x27, 0x28);
  private static final Color TEMPORAL_LIGHT = new Color(0xff, 0x98, 0x96);

  private Charts() {}

  /** Resume latency against N, both engines, log-log; p50 lines with p95 as dotted lines. */
  static void resumeVsHistory(Path png, List<TorporPoint> torpor, List<TemporalPoint> temporal) throws IOException {
    XYChart c = xy("Resume latency against history length (log-log)", "N: steps done before the wait",
        "resume latency, ms");
    line(c, "Torpor resume p50 (restore image)", torpor, p -> p.x(), p -> p.resume().median(), TORPOR, false);
    line(c, "Torpor resume p95", torpor, p -> p.x(), p -> p.resume().p95(), TORPOR, true);
    line(c, "Temporal resume p50 (full replay)", temporal, p -> p.steps(), p -> p.resume().median(), TEMPORAL, false);
    line(c, "Temporal resume p95", temporal, p -> p.steps(), p -> p.resume().p95(), TEMPORAL, true);
    line(c, "Temporal replay alone p50 (in memory)", temporal, p -> p.steps(), p -> p.replay().median(),
        TEMPORAL_LIGHT, false);
    write(c, png);
  }

  /** Torpor's resume latency against the heap held, log-log, with Temporal's largest-N resume for reference. */
  static void resumeVsHeap(Path png, List<TorporPoint> heap, List<TemporalPoint> temporal) throws IOException {
    XYChart c = xy("Torpor resume latency against heap held (log-log)", "heap held by the workflow, MiB",
        "resume latency, ms");
    line(c, "Torpor resume p50", heap, p -> p.x(), p -> p.resume().median(), TORPOR, false);
    line(c, "Torpor resume p95", heap, p -> p.x(), p -> p.resume().p95(), TORPOR, true);
    if (!temporal.isEmpty() && heap.size() >= 2) {
      for (TemporalPoint t : temporal.subList(Math.max(0, temporal.size() - 2), temporal.size())) {
        double y = t.resume().median();
        XYSeries s = c.addSeries(String.format(java.util.Locale.ROOT, "Temporal resume p50 at N = %,d", t.steps()),
            new double[] {heap.get(0).x(), heap.get(heap.size() - 1).x()}, new double[] {y, y});
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(t == temporal.get(temporal.size() - 1) ? TEMPORAL : TEMPORAL_LIGHT);
      }
    }
    write(c, png);
  }

  /** Suspend and resume, each a stacked bar of its phases' medians. */
  static void phases(Path png, String title, Map<String, Stats> suspend, Map<String, Stats> resume) throws IOException {
    CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("")
        .yAxisTitle("median, ms").build();
    c.getStyler().setStacked(true);
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    c.getStyler().setLegendLayout(Styler.LegendLayout.Vertical);
    c.getStyler().setChartBackgroundColor(Color.WHITE);
    List<String> cats = List.of("suspend", "resume");
    suspend.forEach((k, v) -> c.addSeries("suspend: " + k, cats, List.of(Math.max(0, v.median()), 0.0)));
    resume.forEach((k, v) -> c.addSeries("resume: " + k, cats, List.of(0.0, Math.max(0, v.median()))));
    write(c, png);
  }

  /** Server RSS and image store against suspended workflows. */
  static void density(Path png, List<DensityBenchmark.Point> points) throws IOException {
    XYChart c = xy("Suspended workflows on one server", "suspended workflows", "MB", false);
    line(c, "server RSS, MB", points, p -> p.suspended(), p -> p.rssKb() * 1024 / 1e6, TORPOR, false);
    line(c, "image store, GB", points, p -> p.suspended(), p -> p.storeBytes() / 1e9, TEMPORAL, false);
    c.setYAxisTitle("server RSS, MB; image store, GB");
    write(c, png);
  }

  private static XYChart xy(String title, String x, String y) {
    return xy(title, x, y, true);
  }

  private static XYChart xy(String title, String x, String y, boolean logLog) {
    XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
    c.getStyler().setXAxisLogarithmic(logLog);
    c.getStyler().setYAxisLogarithmic(logLog);
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    c.getStyler().setChartBackgroundColor(Color.WHITE);
    c.getStyler().setMarkerSize(7);
    return c;
  }

  private static <T> void line(XYChart c, String name, List<T> points, ToDoubleFunction<T> x, ToDoubleFunction<T> y,
      Color color, boolean dotted) {
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (T p : points) {
      double v = y.applyAsDouble(p);
      if (!Double.isNaN(v) && v > 0) {
        xs.add(x.applyAsDouble(p));
        ys.add(v);
      }
    }
    if (xs.isEmpty()) {
      return;
    }
    XYSeries s = c.addSeries(name, xs, ys);
    s.setLineColor(color);
    s.setMarkerColor(color);
    if (dotted) {
      s.setLineStyle(new java.awt.BasicStroke(1.5f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
          10f, new float[] {4f, 4f}, 0f));
      s.setMarker(SeriesMarkers.NONE);
    }
  }

  private static void write(org.knowm.xchart.internal.chartpart.Chart<?, ?> c, Path png) throws IOException {
    Files.createDirectories(png.toAbsolutePath().getParent());
    Files.write(png, BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG));
  }
}
