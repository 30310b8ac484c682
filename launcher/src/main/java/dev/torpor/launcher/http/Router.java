package dev.torpor.launcher.http;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Matches a method and decoded path segments against patterns like {@code /v1/workflows/{id}}. */
final class Router {
  /** Answers one request. */
  @FunctionalInterface
  interface Handler {
    Response handle(Request request) throws Exception;
  }

  /** A handler with the path parameters it matched. */
  record Match(Handler handler, Map<String, String> params) {}

  private record Route(List<String> pattern, Map<String, Handler> byMethod) {}

  private final List<Route> routes = new ArrayList<>();

  Router add(String method, String pattern, Handler handler) {
    List<String> segs = PathCodec.segments(pattern);
    Route route = routes.stream().filter(r -> r.pattern().equals(segs)).findFirst().orElseGet(() -> {
      Route r = new Route(segs, new LinkedHashMap<>());
      routes.add(r);
      return r;
    });
    route.byMethod().put(method, handler);
    return this;
  }

  /** The handler for a request; 404 when no pattern matches, 405 (with Allow) when the method does not. */
  Match match(String method, List<String> segments, String rawPath) {
    for (Route r : routes) {
      Map<String, String> params = bind(r.pattern(), segments);
      if (params == null) {
        continue;
      }
      Handler h = r.byMethod().get(method);
      if (h == null) {
        String allow = String.join(", ", new TreeSet<>(r.byMethod().keySet()));
        throw new HttpError(405, method + " is not allowed on " + rawPath + ": use " + allow, Map.of("Allow", allow));
      }
      return new Match(h, params);
    }
    throw new HttpError(404, "no such endpoint: " + method + " " + rawPath
        + "; the API is under /v1: /v1/health, /v1/apps, /v1/workflows[/{id}[/history|/logs|/signals/{name}|/cancel|/wake]]");
  }

  private static Map<String, String> bind(List<String> pattern, List<String> segments) {
    if (pattern.size() != segments.size()) {
      return null;
    }
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < pattern.size(); i++) {
      String p = pattern.get(i);
      if (p.startsWith("{") && p.endsWith("}")) {
        params.put(p.substring(1, p.length() - 1), segments.get(i));
      } else if (!p.equals(segments.get(i))) {
        return null;
      }
    }
    return params;
  }
}
