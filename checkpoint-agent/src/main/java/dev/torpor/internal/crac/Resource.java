package dev.torpor.internal.crac;

/**
 * What {@code org.crac} calls through: it wraps each {@code org.crac.Resource} registered with
 * its global context in a proxy of this interface. Same shape as {@code org.crac.Resource}.
 */
public interface Resource {
  /** Called before a checkpoint; throwing refuses it. */
  void beforeCheckpoint(Context<? extends Resource> context) throws Exception;

  /** Called after a restore, or after a checkpoint that did not happen. */
  void afterRestore(Context<? extends Resource> context) throws Exception;
}
