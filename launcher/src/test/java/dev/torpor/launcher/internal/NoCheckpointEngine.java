package dev.torpor.launcher.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** A checkpoint engine for tests of the image store's side: it describes itself and does nothing else. */
final class NoCheckpointEngine implements CheckpointEngine {
  @Override
  public Map<String, String> describe() {
    return Map.of("name", "none");
  }

  @Override
  public void dump(long pid, Path dir, boolean leaveRunning, List<String> options) {
    throw new UnsupportedOperationException("not dumped here");
  }

  @Override
  public Process restore(Path dir, String outputPipe, Path errorFile, List<String> options, boolean addrNoRandomize) {
    throw new UnsupportedOperationException("not restored here");
  }

  @Override
  public long restoredRoot(Process restore, Duration timeout) {
    throw new UnsupportedOperationException("not restored here");
  }

  @Override
  public String restoreLogTail(Path dir) {
    return "";
  }
}
