package dev.torpor.launcher.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/**
 * Copies a workflow JVM's output pipe (stdout and stderr share it) to the workflow's log,
 * and optionally to a tee. The agent writes a marker to the pipe just before it asks to be
 * suspended; the pump strips markers from the log and remembers them, so the worker can wait
 * until every byte written before the marker is in the log before it dumps the process.
 * Otherwise unread bytes would be dumped with the pipe and come back, twice, after restore.
 */
final class OutputPump implements Runnable {
  private static final byte RS = 0x1e;
  private static final byte[] PREFIX = "\u001eTORPOR-SYNC-".getBytes(StandardCharsets.UTF_8);
  private static final int MAX_MARKER = 96;

  private final InputStream in;
  private final OutputStream log;
  private final OutputStream tee;
  private final Set<String> markers = new HashSet<>();
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private final Thread thread;
  private boolean inMarker;
  private boolean finished;

  OutputPump(String name, InputStream in, Path logFile, OutputStream tee) throws IOException {
    Files.createDirectories(logFile.getParent());
    this.in = in;
    this.log = Files.newOutputStream(logFile, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    this.tee = tee;
    this.thread = new Thread(this, "torpor-output-" + name);
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void run() {
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = in.read(buf)) >= 0) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(n);
        for (int i = 0; i < n; i++) {
          accept(buf[i], out);
        }
        write(out.toByteArray());
      }
    } catch (IOException e) {
      writeQuietly(("\n[torpor] output pipe failed: " + e + "\n").getBytes(StandardCharsets.UTF_8));
    } finally {
      if (inMarker) {
        write(pending.toByteArray());
      }
      try {
        log.close();
      } catch (IOException e) {
        System.err.println("torpor: closing a workflow log failed: " + e);
      }
      synchronized (this) {
        finished = true;
        notifyAll();
      }
    }
  }

  private void accept(byte b, ByteArrayOutputStream out) {
    if (!inMarker) {
      if (b == RS) {
        inMarker = true;
        pending.reset();
        pending.write(b);
      } else {
        out.write(b);
      }
      return;
    }
    pending.write(b);
    byte[] p = pending.toByteArray();
    int check = Math.min(p.length, PREFIX.length);
    boolean prefixOk = true;
    for (int i = 0; i < check; i++) {
      prefixOk &= p[i] == PREFIX[i];
    }
    if (!prefixOk || p.length > MAX_MARKER) {
      // not a marker: user output that happens to contain 0x1e; but a 0x1e that broke the
      // prefix may itself start a marker (a lone 0x1e printed right before the agent's marker)
      boolean restart = !prefixOk && b == RS;
      out.write(p, 0, restart ? p.length - 1 : p.length);
      inMarker = restart;
      pending.reset();
      if (restart) {
        pending.write(b);
      }
    } else if (b == RS && p.length > PREFIX.length) {
      inMarker = false;
      String marker = new String(p, StandardCharsets.UTF_8);
      synchronized (this) {
        markers.add(marker);
        notifyAll();
      }
    }
  }

  private void write(byte[] bytes) {
    if (bytes.length == 0) {
      return;
    }
    writeQuietly(bytes);
  }

  private void writeQuietly(byte[] bytes) {
    try {
      log.write(bytes);
      log.flush();
    } catch (IOException e) {
      System.err.println("torpor: writing a workflow log failed: " + e);
    }
    if (tee != null) {
      try {
        tee.write(bytes);
        tee.flush();
      } catch (IOException e) {
        System.err.println("torpor: writing workflow output failed: " + e);
      }
    }
  }

  /** Waits until the pump has read {@code marker}; false if it did not within the timeout. */
  synchronized boolean awaitMarker(String marker, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!markers.remove(marker)) {
      long left = deadline - System.nanoTime();
      if (finished || left <= 0) {
        return false;
      }
      wait(Math.max(1, left / 1_000_000));
    }
    return true;
  }

  /** Waits until the pipe is closed (every process holding it is gone) and the log is flushed. */
  synchronized boolean awaitEnd(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!finished) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      wait(Math.max(1, left / 1_000_000));
    }
    return true;
  }
}
