package dev.torpor.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The JUnit 5 extension: a test method (or a {@code @BeforeEach} method) that declares a {@link
 * TorporTestEnvironment} parameter gets a fresh environment with virtual time, closed (its
 * workflow JVMs killed, its directory deleted) when the test ends. One test gets one environment,
 * however many of its methods ask for it. A test annotated {@link RealCheckpoints} (or in a class
 * that is) gets one with real checkpoints instead.
 *
 * <pre>{@code
 * @ExtendWith(TorporExtension.class)
 * class ApprovalTest {
 *   @Test
 *   void anApprovedChangeIsDeployed(TorporTestEnvironment env) { ... }
 * }
 * }</pre>
 */
public final class TorporExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(TorporExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TorporTestEnvironment.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    ExtensionContext.Store store = context.getStore(NAMESPACE);
    return store.getOrComputeIfAbsent(Closing.class, k -> new Closing(create(context)), Closing.class).env;
  }

  private static TorporTestEnvironment create(ExtensionContext context) {
    boolean real = context.getTestMethod().map(m -> m.isAnnotationPresent(RealCheckpoints.class)).orElse(false)
        || context.getTestClass().map(c -> c.isAnnotationPresent(RealCheckpoints.class)).orElse(false);
    if (!real) {
      return TorporTestEnvironment.create();
    }
    String jar = System.getProperty(RealCheckpoints.JAR_PROPERTY);
    if (jar == null || jar.isBlank()) {
      throw new org.junit.jupiter.api.extension.ParameterResolutionException("@RealCheckpoints needs the torpor CLI's jar:"
          + " set -D" + RealCheckpoints.JAR_PROPERTY + "=PATH (launcher/target/torpor.jar after a build)");
    }
    return TorporTestEnvironment.builder().realCheckpoints(java.nio.file.Path.of(jar)).build();
  }

  /** Closed by JUnit when the test's context ends. */
  private record Closing(TorporTestEnvironment env) implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      env.close();
    }
  }
}
