package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WorkflowJvmDefaultsTest {
  private static final List<String> ALL = List.of("-XX:+UseSerialGC", "-Xms8m", "-XX:-ShrinkHeapInSteps");

  @Test
  void aWorkflowWithoutOptionsGetsEveryDefault() {
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of())).containsExactlyElementsOf(ALL);
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-Xmx512m", "-Dx=-XX:+UseG1GC"), Map.of("JAVA_TOOL_OPTIONS", " ")))
        .containsExactlyElementsOf(ALL);
  }

  @Test
  void aCollectorOfTheWorkflowsOwnReplacesTheDefaultOneWhereverItIsGiven() {
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-XX:+UseG1GC"), Map.of()))
        .containsExactly("-Xms8m", "-XX:-ShrinkHeapInSteps");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-XX:+UseZGC"), Map.of())).doesNotContain("-XX:+UseSerialGC");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of("JAVA_TOOL_OPTIONS", "-Dy=1  -XX:+UseParallelGC")))
        .doesNotContain("-XX:+UseSerialGC");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of("JDK_JAVA_OPTIONS", "-XX:+UseShenandoahGC")))
        .doesNotContain("-XX:+UseSerialGC");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of("_JAVA_OPTIONS", "-XX:+UseZGC")))
        .doesNotContain("-XX:+UseSerialGC");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-XX:-UseG1GC"), Map.of()))
        .as("turning a collector off chooses none").contains("-XX:+UseSerialGC");
  }

  @Test
  void aMaximumHeapBelowTheInitialOneDropsTheInitialOne() {
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-Xmx4m"), Map.of())).doesNotContain("-Xms8m");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-XX:MaxHeapSize=4096k"), Map.of())).doesNotContain("-Xms8m");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-Xmx4m", "-Xmx1g"), Map.of())).as("the last one counts")
        .contains("-Xms8m");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-Xmx8m"), Map.of())).contains("-Xms8m");
  }

  @Test
  void whatTheEnvironmentSetsBeforeTheCommandLineIsNotOverriddenByADefault() {
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of("JAVA_TOOL_OPTIONS", "-Xms64m")))
        .containsExactly("-XX:+UseSerialGC", "-XX:-ShrinkHeapInSteps");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of("JDK_JAVA_OPTIONS", "-XX:InitialHeapSize=64m -XX:+ShrinkHeapInSteps")))
        .containsExactly("-XX:+UseSerialGC");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of(), Map.of("_JAVA_OPTIONS", "-Xms64m")))
        .as("read after the command line, it wins anyway").contains("-Xms8m");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-Xmx1g"), Map.of("JAVA_TOOL_OPTIONS", "-Xmx4m")))
        .as("the command line's -Xmx is read last").contains("-Xms8m");
    assertThat(WorkflowJvmDefaults.forWorkflow(List.of("-Xmx1g"), Map.of("_JAVA_OPTIONS", "-Xmx4m")))
        .as("_JAVA_OPTIONS' -Xmx is read last").doesNotContain("-Xms8m");
  }

  @Test
  void heapSizesAreReadAsTheJvmReadsThem() {
    assertThat(WorkflowJvmDefaults.maxHeap(List.of("-Xmx8388608"))).contains(8L << 20);
    assertThat(WorkflowJvmDefaults.maxHeap(List.of("-Xmx2G"))).contains(2L << 30);
    assertThat(WorkflowJvmDefaults.maxHeap(List.of("-Xmx1t"))).contains(1L << 40);
    assertThat(WorkflowJvmDefaults.maxHeap(List.of("-Xmx99999999999999999999"))).contains(Long.MAX_VALUE);
    assertThat(WorkflowJvmDefaults.maxHeap(List.of("-Xmx9999999999999g"))).contains(Long.MAX_VALUE);
    assertThat(WorkflowJvmDefaults.maxHeap(List.of("-Xms4m", "-Xmxbad"))).isEqualTo(Optional.empty());
  }
}
