package dev.torpor.launcher.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdOutputStream;
import dev.torpor.storage.ImageKey;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ImagePackerTest {
  private static final ImageKey KEY = new ImageKey("wf-pack", 1);

  @TempDir Path tmp;

  private final ImagePacker packer = new ImagePacker(1);
  private Path source;
  private Map<String, byte[]> files;

  @BeforeEach
  void writeSourceImage() throws IOException {
    source = Files.createDirectory(tmp.resolve("dump"));
    files = new LinkedHashMap<>();
    byte[] big = new byte[5 * 1024 * 1024 + 123];
    new Random(42).nextBytes(big);
    files.put("pages-1.img", big);
    files.put("core-1.img", "core of the task\n".repeat(1000).getBytes(StandardCharsets.UTF_8));
    files.put("inventory.img", new byte[] {1, 2, 3});
    files.put("empty.img", new byte[0]);
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Files.write(source.resolve(f.getKey()), f.getValue());
    }
  }

  @Test
  void packThenUnpackRestoresEveryFileAndByte() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImagePacker.Packed packed = packer.pack(source, out);
    byte[] data = out.toByteArray();
    long raw = files.values().stream().mapToLong(b -> b.length).sum();

    assertThat(packed.rawBytes()).isEqualTo(raw);
    assertThat(packed.packedBytes()).isEqualTo(data.length);
    assertThat(packed.sha256()).isEqualTo(sha256(data));

    Path target = tmp.resolve("restore").resolve("1");
    long unpacked = packer.unpack(KEY, new ByteArrayInputStream(data), target, packed.sha256());

    assertThat(unpacked).isEqualTo(raw);
    try (Stream<Path> listed = Files.list(target)) {
      assertThat(listed.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrderElementsOf(files.keySet());
    }
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      assertThat(Files.readAllBytes(target.resolve(f.getKey()))).as(f.getKey()).isEqualTo(f.getValue());
    }
  }

  @Test
  void packSkipsSubdirectories() throws IOException {
    Files.createDirectory(source.resolve("subdir"));
    Files.write(source.resolve("subdir").resolve("hidden.img"), new byte[] {9});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImagePacker.Packed packed = packer.pack(source, out);

    Path target = tmp.resolve("restore");
    packer.unpack(KEY, new ByteArrayInputStream(out.toByteArray()), target, packed.sha256());

    try (Stream<Path> listed = Files.list(target)) {
      assertThat(listed.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrderElementsOf(files.keySet());
    }
  }

  @Test
  void unpackRefusesFlippedByte() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImagePacker.Packed packed = packer.pack(source, out);
    byte[] data = out.toByteArray();
    data[data.length / 2] ^= 0x01;
    String actual = sha256(data);
    Path target = tmp.resolve("restore");

    assertThatThrownBy(() -> packer.unpack(KEY, new ByteArrayInputStream(data), target, packed.sha256()))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining(packed.sha256())
        .hasMessageContaining(actual)
        .hasMessageContaining(KEY.toString());
    assertThat(actual).isNotEqualTo(packed.sha256());
    assertThat(target).doesNotExist();
  }

  @Test
  void unpackRefusesTruncatedData() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImagePacker.Packed packed = packer.pack(source, out);
    byte[] truncated = Arrays.copyOf(out.toByteArray(), out.size() / 2);
    Path target = tmp.resolve("restore");

    assertThatThrownBy(() -> packer.unpack(KEY, new ByteArrayInputStream(truncated), target, packed.sha256()))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining(packed.sha256())
        .hasMessageContaining(sha256(truncated));
    assertThat(target).doesNotExist();
  }

  @Test
  void unpackRefusesTruncatedDataEvenWhenShaMatchesIt() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    packer.pack(source, out);
    byte[] truncated = Arrays.copyOf(out.toByteArray(), out.size() / 2);
    Path target = tmp.resolve("restore");

    assertThatThrownBy(() -> packer.unpack(KEY, new ByteArrayInputStream(truncated), target, sha256(truncated)))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("cannot unpack");
    assertThat(target).doesNotExist();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a/b", "..", "../escaped.img", "{base}/absolute.img", ".hidden"})
  void unpackRefusesEntryThatIsNotAPlainName(String template) throws IOException {
    Path base = Files.createDirectory(tmp.resolve("base"));
    String name = template.replace("{base}", base.toAbsolutePath().toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new ZstdOutputStream(out, 1))) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      putEntry(tar, "good.img", "fine".getBytes(StandardCharsets.UTF_8));
      putEntry(tar, name, "evil".getBytes(StandardCharsets.UTF_8));
      tar.finish();
    }
    byte[] data = out.toByteArray();
    Path target = base.resolve("image");

    assertThatThrownBy(() -> packer.unpack(KEY, new ByteArrayInputStream(data), target, sha256(data)))
        .isInstanceOf(ImageCorruptException.class)
        .hasMessageContaining("unexpected tar entry '" + name + "'");
    assertThat(target).doesNotExist();
    try (Stream<Path> left = Files.walk(tmp)) {
      assertThat(left.filter(p -> !p.startsWith(source)).filter(Files::isRegularFile))
          .as("files written under " + tmp + " besides the source image")
          .isEmpty();
    }
  }

  private static void putEntry(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name, true);
    e.setSize(content.length);
    tar.putArchiveEntry(e);
    tar.write(content);
    tar.closeArchiveEntry();
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
