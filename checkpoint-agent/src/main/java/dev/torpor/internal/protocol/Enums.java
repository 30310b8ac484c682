package dev.torpor.internal.protocol;

final class Enums {
  private Enums() {}

  static <E extends Enum<E>> E parse(Class<E> type, String value, String field) {
    try {
      return Enum.valueOf(type, value);
    } catch (IllegalArgumentException e) {
      throw new ProtocolException("field '" + field + "' has unknown value '" + value + "'");
    }
  }
}
