package dev.torpor.launcher.http;

import com.sun.net.httpserver.Headers;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The checks every request passes before any handler sees it, so that neither a web page in an
 * operator's browser nor a local user without the token gets anything done:
 *
 * <ol>
 *   <li>a request that carries an {@code Origin} header comes from a web page: refused (403)
 *       unless the origin is allowed;
 *   <li>its {@code Host} must name this server (one of its addresses, or an allowed name) and
 *       its port: a page that rebinds its own name to this address is refused (403);
 *   <li>it must carry the bearer token (401).
 * </ol>
 */
final class RequestGate {
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private final BearerToken token;
  private final Set<String> origins;
  private final Set<String> hosts;
  private final int port;
  private final boolean tls;

  RequestGate(ApiAccess access, InetSocketAddress bound) {
    this.token = new BearerToken(access.token());
    this.origins = new HashSet<>();
    for (String o : access.allowedOrigins()) {
      origins.add(normalOrigin(o));
    }
    this.hosts = hostsOf(bound.getAddress());
    for (String h : access.allowedHosts()) {
      hosts.add(normalHost(h));
    }
    this.port = bound.getPort();
    this.tls = access.tls().isPresent();
  }

  /** The names a client may put in {@code Host} for a server bound to {@code address}. */
  static Set<String> hostsOf(InetAddress address) {
    Set<String> names = new HashSet<>();
    if (address.isAnyLocalAddress()) {
      try {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
          for (InetAddress a : Collections.list(nic.getInetAddresses())) {
            names.add(normalHost(a.getHostAddress()));
          }
        }
      } catch (SocketException e) {
        // no interface list: the loopback names and the host name below still work
      }
      names.add(machineName());
    } else {
      names.add(normalHost(address.getHostAddress()));
    }
    if (address.isAnyLocalAddress() || address.isLoopbackAddress()) {
      names.add("localhost");
      names.add("127.0.0.1");
      names.add(normalHost("::1"));
    }
    names.remove("");
    return names;
  }

  private static String machineName() {
    try {
      return InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT);
    } catch (UnknownHostException e) {
      return "";
    }
  }

  /**
   * The CORS headers for a request from an allowed web origin (the origin echoed, and {@code Vary:
   * Origin}); none for a request without {@code Origin}.
   */
  Map<String, String> cors(Headers headers) {
    String origin = headers.getFirst("Origin");
    if (origin == null || !origins.contains(normalOrigin(origin))) {
      return Map.of();
    }
    return Map.of("Access-Control-Allow-Origin", origin.strip(), "Vary", "Origin");
  }

  /**
   * Whether this is a browser's CORS preflight from an allowed origin, which carries no token: it
   * is answered with what the page may send, and nothing else happens.
   */
  boolean isPreflight(String method, Headers headers) {
    return method.equals("OPTIONS") && !cors(headers).isEmpty() && headers.getFirst("Access-Control-Request-Method") != null;
  }

  /** Refuses the request unless it passes the browser checks (Origin, Host); see the class comment. */
  void checkBrowser(Headers headers) {
    String origin = headers.getFirst("Origin");
    if (origin != null && !origins.contains(normalOrigin(origin))) {
      throw new HttpError(403, "requests from web pages are refused (Origin: " + abbreviate(origin) + "): the API is for"
          + " the torpor CLI and scripts; to let a page call it, start the server with --allow-origin " + abbreviate(origin));
    }
    String host = headers.getFirst("Host");
    if (host == null || !hostMatches(host.strip())) {
      throw new HttpError(403, (host == null ? "the request has no Host header" : "Host '" + abbreviate(host)
          + "' is not this server") + ": send the address the server listens on, port " + port + " (a name that"
          + " only resolves here, as in DNS rebinding, is refused; the server's operator can allow names with"
          + " --allow-host)");
    }
  }

  /** Refuses the request (401) unless it carries the token. */
  void checkToken(Headers headers) {
    if (!token.accepts(headers.getFirst("Authorization"))) {
      throw new HttpError(401, "this server wants its API token: send Authorization: Bearer <token> (the torpor CLI"
          + " reads TORPOR_TOKEN, --token-file, or the server's <data>/api-token)",
          Map.of("WWW-Authenticate", "Bearer realm=\"torpor\""));
    }
  }

  private boolean hostMatches(String host) {
    String name;
    int p;
    if (host.startsWith("[")) {
      int close = host.indexOf(']');
      if (close < 0) {
        return false;
      }
      name = host.substring(1, close);
      String rest = host.substring(close + 1);
      p = rest.isEmpty() ? defaultPort() : rest.startsWith(":") ? parsePort(rest.substring(1)) : -1;
    } else {
      int colon = host.lastIndexOf(':');
      name = colon < 0 ? host : host.substring(0, colon);
      p = colon < 0 ? defaultPort() : parsePort(host.substring(colon + 1));
    }
    return p == port && hosts.contains(normalHost(name));
  }

  private int defaultPort() {
    return tls ? 443 : 80;
  }

  private static int parsePort(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** A host name lower-cased, an IP literal in its canonical form (no DNS lookup). */
  static String normalHost(String h) {
    String s = h.strip().toLowerCase(Locale.ROOT);
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    int zone = s.indexOf('%');
    if (zone >= 0) {
      s = s.substring(0, zone);
    }
    if (s.contains(":") || IPV4.matcher(s).matches()) {
      try {
        return InetAddress.getByName(s).getHostAddress(); // a literal: parsed, never resolved
      } catch (UnknownHostException e) {
        return s;
      }
    }
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  /** {@code scheme://host[:port]} lower-cased, default ports dropped; what browsers send. */
  static String normalOrigin(String origin) {
    try {
      URI u = URI.create(origin.strip());
      String scheme = String.valueOf(u.getScheme()).toLowerCase(Locale.ROOT);
      int p = u.getPort();
      boolean defaultPort = p == -1 || (scheme.equals("http") && p == 80) || (scheme.equals("https") && p == 443);
      return scheme + "://" + String.valueOf(u.getHost()).toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + p);
    } catch (IllegalArgumentException e) {
      return origin.strip().toLowerCase(Locale.ROOT);
    }
  }

  private static String abbreviate(String s) {
    String clean = s.replaceAll("\\p{Cntrl}", "?");
    return clean.length() > 100 ? clean.substring(0, 100) + "..." : clean;
  }
}
