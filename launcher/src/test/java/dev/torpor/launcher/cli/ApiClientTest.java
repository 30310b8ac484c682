package dev.torpor.launcher.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The pure parts of {@link ApiClient}: exit codes, messages, URLs. */
class ApiClientTest {
  private static final ApiToken.Found NONE = new ApiToken.Found(null, "none");

  @ParameterizedTest
  @CsvSource({
    "400, 2", "413, 2", "415, 2", "401, 6", "403, 6", "404, 3", "409, 4", "405, 125", "500, 125", "502, 125", "503, 125"
  })
  void mapsHttpStatusesToExitCodes(int status, int exitCode) {
    assertThat(ApiClient.exitCodeFor(status)).isEqualTo(exitCode);
  }

  @Test
  void exitCodeConstantsAreTheDocumentedOnes() {
    assertThat(new int[] {ExitCodes.USAGE, ExitCodes.NOT_FOUND, ExitCodes.CONFLICT, ExitCodes.UNREACHABLE,
        ExitCodes.UNAUTHORIZED, ExitCodes.FAILURE}).containsExactly(2, 3, 4, 5, 6, 125);
  }

  @Test
  void messageIsTheServersErrorField() {
    byte[] body = "{\"error\":\"no workflow 'x': `torpor list` shows the known ones\"}".getBytes(StandardCharsets.UTF_8);

    assertThat(ApiClient.messageFor(404, body, NONE)).isEqualTo("no workflow 'x': `torpor list` shows the known ones");
  }

  @Test
  void messageDescribesAnAnswerThatIsNotOurs() {
    assertThat(ApiClient.messageFor(502, "Bad Gateway\n".getBytes(StandardCharsets.UTF_8), NONE))
        .isEqualTo("the server answered HTTP 502: Bad Gateway");
    assertThat(ApiClient.messageFor(503, new byte[0], NONE)).isEqualTo("the server answered HTTP 503");
    assertThat(ApiClient.messageFor(500, "{\"status\":1}".getBytes(StandardCharsets.UTF_8), NONE))
        .isEqualTo("the server answered HTTP 500: {\"status\":1}");
  }

  @Test
  void unauthorizedSaysWhatToPass() {
    byte[] body = "{\"error\":\"whatever\"}".getBytes(StandardCharsets.UTF_8);

    assertThat(ApiClient.messageFor(401, body, new ApiToken.Found(null, "you may not read /root/.torpor/api-token")))
        .contains("wants its API token and torpor has none (you may not read /root/.torpor/api-token)")
        .contains("ask its operator").contains("TORPOR_TOKEN").contains("--token-file");
    assertThat(ApiClient.messageFor(401, body, new ApiToken.Found("x", "/etc/t")))
        .contains("refused the API token from /etc/t").contains("api-token").contains("TORPOR_TOKEN");
  }

  @Test
  void recognizesAServerThatIsNotThere() {
    assertThat(ApiClient.unreachableReason(new ConnectException())).isEqualTo("connection refused");
    assertThat(ApiClient.unreachableReason(new ConnectException("Connection refused"))).isEqualTo("connection refused");
    assertThat(ApiClient.unreachableReason(new IOException("wrapped", new ConnectException()))).isEqualTo("connection refused");
    assertThat(ApiClient.unreachableReason(new HttpConnectTimeoutException("HTTP connect timed out"))).isEqualTo("connection timed out");
    assertThat(ApiClient.unreachableReason(new IOException("x", new java.nio.channels.UnresolvedAddressException())))
        .isEqualTo("unknown host");
  }

  @Test
  void aFailureAfterConnectingIsNotUnreachable() {
    assertThat(ApiClient.unreachableReason(new IOException("Connection reset"))).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1:7777", "ftp://127.0.0.1:7777", "http://", "http://h:1/?q=1", "not a url", ""})
  void serverMustBeAnHttpUrl(String server) {
    assertThatThrownBy(() -> ApiClient.of(server, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--server must be an http:// or https:// URL such as http://127.0.0.1:7777, not '" + server + "'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://127.0.0.1:7777", "http://127.0.0.1:7777/", "HTTPS://torpor.example:8443//", "http://h/base/"})
  void acceptsHttpUrlsWithOrWithoutTrailingSlash(String server) {
    assertThat(ApiClient.of(server, "t")).isNotNull();
  }

  @Test
  void pathAndQueryArePercentEncoded() {
    assertThat(ApiClient.path("v1", "workflows", "a b/c", "signals", "é+x")).isEqualTo("/v1/workflows/a%20b%2Fc/signals/%C3%A9%2Bx");
    Map<String, Object> q = new LinkedHashMap<>();
    q.put("state", "SUSPENDED");
    q.put("waitingOn", null);
    q.put("limit", 5);
    assertThat(ApiClient.query(q)).isEqualTo("?state=SUSPENDED&limit=5");
    assertThat(ApiClient.query(Map.of())).isEmpty();
  }
}
