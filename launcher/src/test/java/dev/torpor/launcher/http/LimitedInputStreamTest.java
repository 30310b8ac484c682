package dev.torpor.launcher.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class LimitedInputStreamTest {
  @Test
  void passesExactlyTheLimit() throws IOException {
    LimitedInputStream in = new LimitedInputStream(new ByteArrayInputStream(new byte[10]), 10);

    assertThat(in.readAllBytes()).hasSize(10);
    assertThat(in.exceeded()).isFalse();
  }

  @Test
  void failsOnTheFirstByteBeyondTheLimitAndStaysFailed() throws IOException {
    LimitedInputStream in = new LimitedInputStream(new ByteArrayInputStream(new byte[11]), 10);

    assertThat(in.readNBytes(10)).hasSize(10);
    assertThatThrownBy(in::read).isInstanceOf(LimitedInputStream.TooLargeException.class).hasMessageContaining("10 bytes");
    assertThat(in.exceeded()).isTrue();
    assertThatThrownBy(in::read).isInstanceOf(LimitedInputStream.TooLargeException.class);
  }

  @Test
  void neverReadsMoreThanOneByteBeyondTheLimit() {
    int[] served = {0};
    InputStream endless = new InputStream() {
      @Override
      public int read() {
        served[0]++;
        return 'x';
      }
    };
    LimitedInputStream in = new LimitedInputStream(endless, 100);

    assertThatThrownBy(in::readAllBytes).isInstanceOf(LimitedInputStream.TooLargeException.class);
    assertThat(served[0]).isEqualTo(101);
  }
}
