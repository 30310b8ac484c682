package dev.torpor.internal.crac;

/**
 * A resource that calls other resources: {@code org.crac} looks up {@code register(Resource)}
 * on it. Same shape as {@code org.crac.Context}.
 *
 * @param <R> the resources it holds
 */
public abstract class Context<R extends Resource> implements Resource {
  protected Context() {}

  @Override
  public abstract void beforeCheckpoint(Context<? extends Resource> context) throws CheckpointException;

  @Override
  public abstract void afterRestore(Context<? extends Resource> context) throws RestoreException;

  /** Adds a resource to be called at every checkpoint and restore. */
  public abstract void register(R resource);
}
