package dev.torpor.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The JUnit 5 extension: a test method (or a {@code @BeforeEach} method) that declares a {@link
 * TorporTestEnvironment} parameter gets a fresh environment with virtual time, closed (its
 * workflow JVMs killed, its directory deleted) when the test ends. One test gets one environment,
 * however many of its methods ask for it.
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
    return store.getOrComputeIfAbsent(Closing.class, k -> new Closing(TorporTestEnvironment.create()), Closing.class).env;
  }

  /** Closed by JUnit when the test's context ends. */
  private record Closing(TorporTestEnvironment env) implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      env.close();
    }
  }
}
