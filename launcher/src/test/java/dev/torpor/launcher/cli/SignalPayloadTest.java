package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.torpor.SignalName;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where {@code torpor signal} takes its payload from. */
class SignalPayloadTest {
  private static final SignalName GO = SignalName.of("go");
  private static final InputStream NO_STDIN = new InputStream() {
    @Override
    public int read() {
      throw new AssertionError("stdin must not be read");
    }
  };

  @TempDir Path tmp;

  @Test
  void noPayloadIsEmpty() {
    assertThat(SignalPayload.read(GO, null, NO_STDIN)).isEmpty();
  }

  @Test
  void textIsItsUtf8Bytes() {
    assertThat(SignalPayload.read(GO, "été=@-", NO_STDIN)).isEqualTo("été=@-".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void atFileIsTheFilesBytes() throws IOException {
    byte[] bytes = {0, 1, (byte) 0xff};
    Path f = Files.write(tmp.resolve("p.bin"), bytes);

    assertThat(SignalPayload.read(GO, "@" + f, NO_STDIN)).isEqualTo(bytes);
  }

  @Test
  void dashIsStdin() {
    byte[] bytes = {'y', 'e', 's', '\n'};

    assertThat(SignalPayload.read(GO, "-", new ByteArrayInputStream(bytes))).isEqualTo(bytes);
  }

  @Test
  void exactlyOneMebibyteFromStdinIsAccepted() {
    assertThat(SignalPayload.read(GO, "-", new ByteArrayInputStream(new byte[1 << 20]))).hasSize(1 << 20);
  }

  @Test
  void stdinOverOneMebibyteIsRefusedAfterReadingOneByteTooMany() {
    long[] served = {0};
    InputStream endless = new InputStream() {
      @Override
      public int read() {
        served[0]++;
        return 'x';
      }
    };

    assertThatThrownBy(() -> SignalPayload.read(GO, "-", endless))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the payload of signal 'go' is more than 1048576 bytes; the limit is 1048576 (1 MiB):"
            + " keep large data elsewhere and send a reference");
    assertThat(served[0]).isEqualTo((1 << 20) + 1);
  }

  @Test
  void fileOverOneMebibyteIsRefusedByItsSize() throws IOException {
    Path big = Files.write(tmp.resolve("big.bin"), new byte[(1 << 20) + 1]);

    assertThatThrownBy(() -> SignalPayload.read(GO, "@" + big, NO_STDIN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is 1048577 bytes; the limit is 1048576 (1 MiB)");
  }

  @Test
  void missingFileIsNamed() {
    assertThatThrownBy(() -> SignalPayload.read(GO, "@/missing/file", NO_STDIN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read the payload of signal 'go' from /missing/file");
  }
}
