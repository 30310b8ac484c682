package dev.torpor.launcher.it.workflows;

import dev.torpor.Durable;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** One HttpClient, a keep-alive request before the wait and another after it. */
public final class KeepAlive {
  private KeepAlive() {}

  public static void main(String[] args) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest get = HttpRequest.newBuilder(URI.create(args[0])).build();
    HttpResponse<String> first = client.send(get, HttpResponse.BodyHandlers.ofString());
    System.out.println("first " + first.statusCode() + " " + first.body());
    Durable.waitFor(Duration.ofSeconds(1));
    HttpResponse<String> second = client.send(get, HttpResponse.BodyHandlers.ofString());
    System.out.println("second " + second.statusCode() + " " + second.body());
  }
}
