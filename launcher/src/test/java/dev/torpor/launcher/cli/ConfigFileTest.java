package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Option defaults from the TORPOR_CONFIG properties file. */
class ConfigFileTest {
  @Test
  void configFileSuppliesOptionDefaults(@TempDir Path dir) throws Exception {
    Path cfg = dir.resolve("torpor.properties");
    Files.writeString(cfg, "server=http://127.0.0.1:1\n");
    var cl = TorporCommand.commandLine(cfg.toString());
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    cl.setOut(new PrintWriter(new StringWriter()));
    int code = cl.execute("list");
    assertThat(code).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(err.toString()).contains("http://127.0.0.1:1");
  }

  @Test
  void missingConfigFileIsAClearError(@TempDir Path dir) {
    assertThatThrownBy(() -> TorporCommand.commandLine(dir.resolve("nope.properties").toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("TORPOR_CONFIG").hasMessageContaining("nope.properties");
  }
}
