package dev.torpor.launcher.cli;

import dev.torpor.storage.ByteSize;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Reads a size in bytes ({@link ByteSize}): {@code 0}, {@code 268435456}, {@code 256MiB}, {@code 2g}. */
public final class SizeConverter implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    try {
      return ByteSize.parse(value, "256MiB");
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(e.getMessage());
    }
  }
}
