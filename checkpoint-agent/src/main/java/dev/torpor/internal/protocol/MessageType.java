package dev.torpor.internal.protocol;

/** The kinds of frame exchanged by the agent and the worker; the code is the wire value. */
public enum MessageType {
  /** Agent to worker: I am about to block; dump me (or not) and wake me on a condition. */
  SUSPEND(1),
  /** Worker to agent, on the wake socket: your wait is over, here is why. */
  WAKE(2),
  /** Agent to worker: the wait returned and the afterRestore hooks ran. */
  RESUMED(3);

  final int code;

  MessageType(int code) {
    this.code = code;
  }

  static MessageType of(int code) {
    for (MessageType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    return null;
  }
}
