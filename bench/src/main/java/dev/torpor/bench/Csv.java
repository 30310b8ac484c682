package dev.torpor.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The report's figures as CSV (RFC 4180: comma-separated, fields quoted where they need it). */
final class Csv {
  private Csv() {}

  /** Writes {@code rows} (the first is the header) to {@code file}. */
  static void write(Path file, List<String[]> rows) throws IOException {
    StringBuilder s = new StringBuilder();
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        s.append(i == 0 ? "" : ",").append(field(r[i]));
      }
      s.append("\r\n");
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, s, StandardCharsets.UTF_8);
  }

  /** The rows of a CSV file {@link #write} made (quoted fields, doubled quotes; no line breaks in fields). */
  static List<String[]> read(Path file) throws IOException {
    List<String[]> rows = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isEmpty()) {
        continue;
      }
      List<String> fields = new ArrayList<>();
      StringBuilder f = new StringBuilder();
      boolean quoted = false;
      for (int i = 0; i < line.length(); i++) {
        char c = line.charAt(i);
        if (quoted) {
          if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
            f.append('"');
            i++;
          } else if (c == '"') {
            quoted = false;
          } else {
            f.append(c);
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ',') {
          fields.add(f.toString());
          f.setLength(0);
        } else {
          f.append(c);
        }
      }
      fields.add(f.toString());
      rows.add(fields.toArray(String[]::new));
    }
    return rows;
  }

  static String field(String v) {
    String x = v == null ? "" : v;
    return x.contains(",") || x.contains("\"") || x.contains("\n") || x.contains("\r")
        ? "\"" + x.replace("\"", "\"\"") + "\"" : x;
  }

  /**
   * Writes every table of a Markdown document to {@code dir/tables/SECTION-K.csv}, SECTION the
   * slug of the nearest heading above it and K its number under that heading; returns how many.
   */
  static int writeTables(String markdown, Path dir) throws IOException {
    List<List<String[]>> tables = new ArrayList<>();
    List<String> names = new ArrayList<>();
    String heading = "report";
    int k = 0;
    List<String[]> current = null;
    for (String line : markdown.split("\n", -1)) {
      String l = line.strip();
      if (l.startsWith("#")) {
        heading = slug(l.replaceFirst("^#+", ""));
        k = 0;
      }
      if (l.startsWith("|") && l.endsWith("|")) {
        String[] cells = cells(l);
        if (current == null) {
          current = new ArrayList<>();
          tables.add(current);
          names.add(heading + "-" + (++k));
        }
        if (!isRule(cells)) {
          current.add(cells);
        }
      } else {
        current = null;
      }
    }
    Path out = dir.resolve("tables");
    SnapshotBenchmark.deleteTree(out); // the tables of an earlier run
    for (int i = 0; i < tables.size(); i++) {
      write(out.resolve(names.get(i) + ".csv"), tables.get(i));
    }
    return tables.size();
  }

  static String[] cells(String row) {
    String inner = row.substring(1, row.length() - 1);
    String[] c = inner.split("\\|", -1);
    for (int i = 0; i < c.length; i++) {
      c[i] = c[i].strip();
    }
    return c;
  }

  private static boolean isRule(String[] cells) {
    for (String c : cells) {
      if (!c.matches(":?-+:?")) {
        return false;
      }
    }
    return true;
  }

  static String slug(String title) {
    String s = title.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-+|-+$)", "");
    return s.length() > 60 ? s.substring(0, 60).replaceAll("-+$", "") : s;
  }
}
