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
 * <p>The workflow's own options come after these, so a later {@code -Xms} or {@code
 * -XX:+ShrinkHeapInSteps} wins as usual. Two of them would not win but clash, so a default is
 * left out when the workflow's options (or its {@code JAVA_TOOL_OPTIONS} or {@code
 * JDK_JAVA_OPTIONS}) choose a collector ({@code -XX:+Use...GC}: the JVM refuses two), or cap the
 * heap below 8 MiB with {@code -Xmx} or {@code -XX:MaxHeapSize} (the JVM refuses an initial heap
 * above the maximum).
 */
public final class WorkflowJvmDefaults {
  public static final String COLLECTOR = "-XX:+UseSerialGC";
  public static final String INITIAL_HEAP = "-Xms8m";
  public static final String SHRINK_AT_ONCE = "-XX:-ShrinkHeapInSteps";
  private static final long INITIAL_HEAP_BYTES = 8L << 20;

  /** The environment variables the JVM reads options from. */
  static final List<String> OPTION_VARIABLES = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS");

  private static final Pattern CHOOSES_COLLECTOR = Pattern.compile("-XX:\\+Use\\w*GC");
  private static final Pattern MAX_HEAP = Pattern.compile("(?:-Xmx|-XX:MaxHeapSize=)(\\d+)([kKmMgGtT]?)");

  private WorkflowJvmDefaults() {}

  /**
   * The defaults that go before {@code workflowOptions} on the command line of a workflow JVM
   * whose environment is {@code env}.
   */
  public static List<String> forWorkflow(List<String> workflowOptions, Map<String, String> env) {
    List<String> theirs = new ArrayList<>(workflowOptions);
    for (String variable : OPTION_VARIABLES) {
      String value = env.get(variable);
      if (value != null && !value.isBlank()) {
        theirs.addAll(List.of(value.strip().split("\\s+")));
      }
    }
    List<String> defaults = new ArrayList<>();
    if (theirs.stream().noneMatch(o -> CHOOSES_COLLECTOR.matcher(o).matches())) {
      defaults.add(COLLECTOR);
    }
    Optional<Long> max = maxHeap(theirs);
    if (max.isEmpty() || max.get() >= INITIAL_HEAP_BYTES) {
      defaults.add(INITIAL_HEAP);
    }
    defaults.add(SHRINK_AT_ONCE);
    return defaults;
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
