package dev.torpor.launcher.http;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * Who may use the HTTP API and how it is reached: the bearer token every request must carry
 * (there is no request without one, loopback included), TLS, the web origins allowed to call it
 * (none by default: browsers are kept out) and the host names it answers to besides its own
 * addresses (a defence against DNS rebinding).
 *
 * @param token the bearer token; required
 * @param tls the server's certificate and key, or empty for plain HTTP (loopback only, unless
 *     {@code plainHttpAnywhere})
 * @param allowedOrigins web origins (scheme://host[:port]) whose requests are served
 * @param allowedHosts extra names a client may put in {@code Host} (e.g. a load balancer's)
 * @param plainHttpAnywhere an operator's explicit choice to serve plain HTTP on a non-loopback address
 */
public record ApiAccess(String token, Optional<SSLContext> tls, List<String> allowedOrigins, List<String> allowedHosts,
    boolean plainHttpAnywhere) {
  public ApiAccess {
    Objects.requireNonNull(token, "token");
    if (token.isBlank()) {
      throw new IllegalArgumentException("the API token must not be empty");
    }
    allowedOrigins = List.copyOf(allowedOrigins);
    allowedHosts = List.copyOf(allowedHosts);
  }

  /** Plain HTTP, the token, no web origin, no extra host name: the default on loopback. */
  public static ApiAccess token(String token) {
    return new ApiAccess(token, Optional.empty(), List.of(), List.of(), false);
  }
}
