package dev.torpor.launcher.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The options a worker gives every workflow JVM before the workflow's own, chosen for small
 * images: a workflow JVM spends its life waiting, and every page it holds is dumped, stored and
 * restored at each wait.
 *
 * <ul>
 *   <li>{@code -XX:+UseSerialGC}: no concurrent collector threads and their data structures; on
 *       a machine with 2 CPUs and more than 1.7 GB, the JVM would otherwise choose G1.
 *   <li>{@code -Xms8m}: the heap starts small and grows as the workflow needs, instead of starting
 *       at 1/64 of the machine's memory, a size it never shrinks below.
 *   <li>{@code -XX:-ShrinkHeapInSteps}: the collection the agent runs before a checkpoint (see
 *       {@code SupervisedRuntime.GC_PROPERTY}) gives back at once all the heap the live objects do
 *       not need, not a tenth of it.
 * </ul>
 *
 * <p>The workflow's own options come after these on the command line, so a later {@code -Xms}
 * or {@code -XX:+ShrinkHeapInSteps} there wins as usual. The JVM reads {@code JAVA_TOOL_OPTIONS}
 * and {@code JDK_JAVA_OPTIONS} before the command line, so a default that the workflow's
 * environment sets there is left out, to let the workflow's choice stand. Two options would not
 * win but clash, so a default is also left out when the workflow chooses a collector anywhere
 * ({@code -XX:+Use...GC}, also in {@code _JAVA_OPTIONS}: the JVM refuses two), or caps the heap
 * below 8 MiB with {@code -Xmx} or {@code -XX:MaxHeapSize} (the JVM refuses an initial heap above
 * the maximum).
 */
public final class WorkflowJvmDefaults {
  private static final String COLLECTOR = "-XX:+UseSerialGC";
  private static final String INITIAL_HEAP = "-Xms8m";
  private static final String SHRINK_AT_ONCE = "-XX:-ShrinkHeapInSteps";
  private static final long INITIAL_HEAP_BYTES = 8L << 20;

  /** The environment variables the JVM reads before the command line. */
  static final List<String> EARLIER_VARIABLES = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS");
  /** The environment variable the JVM reads after the command line. */
  static final String LATER_VARIABLE = "_JAVA_OPTIONS";

  private static final Pattern CHOOSES_COLLECTOR = Pattern.compile("-XX:\\+Use\\w*GC");
  private static final Pattern SETS_INITIAL_HEAP = Pattern.compile("-Xms.*|-XX:(?:Initial|Min)HeapSize=.*");
  private static final Pattern SETS_SHRINKING = Pattern.compile("-XX:[+-]ShrinkHeapInSteps");
  private static final Pattern MAX_HEAP = Pattern.compile("(?:-Xmx|-XX:MaxHeapSize=)(\\d+)([kKmMgGtT]?)");

  private WorkflowJvmDefaults() {}

  /**
   * The defaults that go before {@code workflowOptions} on the command line of a workflow JVM
   * whose environment is {@code env}.
   */
  public static List<String> forWorkflow(List<String> workflowOptions, Map<String, String> env) {
    List<String> earlier = new ArrayList<>();
    EARLIER_VARIABLES.forEach(v -> earlier.addAll(split(env.get(v))));
    List<String> all = new ArrayList<>(earlier); // in the order the JVM reads them
    all.addAll(workflowOptions);
    all.addAll(split(env.get(LATER_VARIABLE)));

    List<String> defaults = new ArrayList<>();
    if (all.stream().noneMatch(o -> CHOOSES_COLLECTOR.matcher(o).matches())) {
      defaults.add(COLLECTOR);
    }
    Optional<Long> max = maxHeap(all);
    if ((max.isEmpty() || max.get() >= INITIAL_HEAP_BYTES)
        && earlier.stream().noneMatch(o -> SETS_INITIAL_HEAP.matcher(o).matches())) {
      defaults.add(INITIAL_HEAP);
    }
    if (earlier.stream().noneMatch(o -> SETS_SHRINKING.matcher(o).matches())) {
      defaults.add(SHRINK_AT_ONCE);
    }
    return defaults;
  }

  private static List<String> split(String options) {
    return options == null || options.isBlank() ? List.of() : List.of(options.strip().split("\\s+"));
  }

  /** The maximum heap the last {@code -Xmx} or {@code -XX:MaxHeapSize} of {@code options} sets, in bytes. */
  static Optional<Long> maxHeap(List<String> options) {
    Optional<Long> max = Optional.empty();
    for (String o : options) {
      Matcher m = MAX_HEAP.matcher(o);
      if (m.matches()) {
        try {
          long n = Long.parseLong(m.group(1));
          int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
          };
          max = Optional.of(n > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : n << shift);
        } catch (NumberFormatException e) {
          max = Optional.of(Long.MAX_VALUE); // too many digits: the JVM will say so
        }
      }
    }
    return max;
  }
}
