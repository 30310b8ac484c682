package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
  private static final InputStream NO_STDIN = new InputStream() {
    @Override
    public int read() {
      throw new AssertionError("stdin must not be read");
    }
  };

  @TempDir Path tmp;

  @Test
  void noPayloadIsEmpty() {
    assertThat(SignalPayload.read("go", null, NO_STDIN)).isEmpty();
  }

  @Test
  void textIsItsUtf8Bytes() {
    assertThat(SignalPayload.read("go", "été=@-", NO_STDIN)).isEqualTo("été=@-".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void atFileIsTheFilesBytes() throws IOException {
    byte[] bytes = {0, 1, (byte) 0xff};
    Path f = Files.write(tmp.resolve("p.bin"), bytes);

    assertThat(SignalPayload.read("go", "@" + f, NO_STDIN)).isEqualTo(bytes);
  }

  @Test
  void dashIsStdin() {
    byte[] bytes = {'y', 'e', 's', '\n'};

    assertThat(SignalPayload.read("go", "-", new ByteArrayInputStream(bytes))).isEqualTo(bytes);
  }

  @Test
  void exactlyOneMebibyteFromStdinIsAccepted() {
    assertThat(SignalPayload.read("go", "-", new ByteArrayInputStream(new byte[1 << 20]))).hasSize(1 << 20);
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

    assertThatThrownBy(() -> SignalPayload.read("go", "-", endless))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the payload of signal 'go' is more than 1048576 bytes; the limit is 1048576 (1 MiB):"
            + " keep large data elsewhere and send a reference");
    assertThat(served[0]).isEqualTo((1 << 20) + 1);
  }

  @Test
  void fileOverOneMebibyteIsRefusedByItsSize() throws IOException {
    Path big = Files.write(tmp.resolve("big.bin"), new byte[(1 << 20) + 1]);

    assertThatThrownBy(() -> SignalPayload.read("go", "@" + big, NO_STDIN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is 1048577 bytes; the limit is 1048576 (1 MiB)");
  }

  @Test
  void missingFileIsNamed() {
    assertThatThrownBy(() -> SignalPayload.read("go", "@/missing/file", NO_STDIN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read the payload of signal 'go' from /missing/file");
  }

  @Test
  void nameMustBe1To128Characters() {
    assertThatThrownBy(() -> SignalPayload.read("", null, NO_STDIN)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 128 characters");
    assertThatThrownBy(() -> SignalPayload.read("n".repeat(129), null, NO_STDIN)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 128 characters");
    assertThat(SignalPayload.read("n".repeat(128), null, NO_STDIN)).isEmpty();
  }
}
