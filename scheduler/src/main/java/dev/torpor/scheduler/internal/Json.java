package dev.torpor.scheduler.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.torpor.PendingWait;
import dev.torpor.WaitKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.TreeMap;

/** JSON for the registry's text columns. */
final class Json {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON for a " + value.getClass().getSimpleName(), e);
    }
  }

  static List<String> strings(String json) {
    try {
      return MAPPER.readValue(json, new TypeReference<List<String>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt list in the registry: " + json, e);
    }
  }

  /** A JSON object of strings; null or blank reads as empty. */
  static Map<String, String> stringMap(String json) {
    if (json == null || json.isBlank()) {
      return Map.of();
    }
    try {
      return MAPPER.readValue(json, new TypeReference<TreeMap<String, String>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt JSON object in the registry: " + json, e);
    }
  }

  static List<Long> longs(String json) {
    try {
      return MAPPER.readValue(json, new TypeReference<List<Long>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt list in the registry: " + json, e);
    }
  }

  /** A wait set as the registry keeps it: a list of objects, deadlines in epoch milliseconds. */
  static String writeWaits(List<PendingWait> waits) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (PendingWait w : waits) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", w.id());
      m.put("kind", w.kind().name());
      m.put("signals", w.signals());
      m.put("wakeAt", w.wakeAt().map(Instant::toEpochMilli).orElse(null));
      m.put("stack", w.stack());
      out.add(m);
    }
    return write(out);
  }

  static List<PendingWait> waits(String json) {
    try {
      List<Map<String, Object>> in = MAPPER.readValue(json, new TypeReference<List<Map<String, Object>>>() {});
      List<PendingWait> out = new ArrayList<>();
      for (Map<String, Object> m : in) {
        @SuppressWarnings("unchecked")
        List<String> names = (List<String>) m.getOrDefault("signals", List.of());
        Object at = m.get("wakeAt");
        out.add(new PendingWait(((Number) m.get("id")).longValue(), WaitKind.valueOf((String) m.get("kind")), names,
            at == null ? Optional.empty() : Optional.of(Instant.ofEpochMilli(((Number) at).longValue())),
            String.valueOf(m.getOrDefault("stack", ""))));
      }
      return out;
    } catch (JsonProcessingException | RuntimeException e) {
      throw new IllegalStateException("corrupt wait set in the registry: " + json, e);
    }
  }

  static Map<String, Object> map(String json) {
    try {
      return MAPPER.readValue(json, new TypeReference<Map<String, Object>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt details in the registry: " + json, e);
    }
  }
}
