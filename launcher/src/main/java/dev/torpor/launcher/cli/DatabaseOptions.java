package dev.torpor.launcher.cli;

import dev.torpor.scheduler.ControlPlaneConfig;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The registry's database, shared by the commands that open it (server, worker). */
public final class DatabaseOptions {
  @Option(names = "--db-url", defaultValue = "${TORPOR_DB_URL}",
      description = "JDBC URL of the registry and Quartz job store, e.g. jdbc:postgresql://127.0.0.1/torpor"
          + " (env TORPOR_DB_URL; default for the server: an H2 file database in <data>/db).")
  String dbUrl;

  @Option(names = "--db-user", defaultValue = "${TORPOR_DB_USER}", description = "Database user (env TORPOR_DB_USER).")
  String dbUser;

  @Option(names = "--db-password", defaultValue = "${TORPOR_DB_PASSWORD}",
      description = "Database password (env TORPOR_DB_PASSWORD; prefer the environment: arguments are visible to"
          + " other users of this machine).")
  String dbPassword;

  @Option(names = "--ca-file", defaultValue = "${TORPOR_CA_FILE}",
      description = "CA certificates (PEM) to trust for TLS to PostgreSQL: with it the connection must use TLS and the"
          + " server's certificate must match its host name (sslmode=verify-full) (env TORPOR_CA_FILE).")
  Path caFile;

  @Option(names = "--lease-ttl", defaultValue = "${TORPOR_LEASE_TTL:-10s}", converter = DurationConverter.class,
      description = "In a cluster: how long a worker's lease lasts unrenewed before its workflows resume on another"
          + " worker; the same on every node (env TORPOR_LEASE_TTL; default: ${DEFAULT-VALUE}, at least 2s).")
  Duration leaseTtl;

  boolean embedded() {
    return dbUrl == null || dbUrl.isBlank();
  }

  /** The database, or the embedded H2 file under {@code data} when no URL is given. */
  ControlPlaneConfig config(Path data, Path logs) {
    return embedded() ? ControlPlaneConfig.embedded(data, logs)
        : new ControlPlaneConfig(url(), dbUser, dbPassword, data, logs, 4, Duration.ofSeconds(5));
  }

  /** The database that nodes of a cluster share: PostgreSQL. */
  ControlPlaneConfig sharedConfig(String role, Path data, Path logs, int quartzThreads) {
    if (embedded() || !dbUrl.strip().startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(role + " shares its registry with the other nodes of a cluster: give --db-url"
          + " jdbc:postgresql://HOST[:PORT]/DB (and --db-user, --db-password), the same on every node"
          + (embedded() ? "" : "; '" + dbUrl + "' is not PostgreSQL"));
    }
    return new ControlPlaneConfig(url(), dbUser, dbPassword, data, logs, quartzThreads, Duration.ofSeconds(5));
  }

  /**
   * The JDBC URL, with {@code --ca-file}: PostgreSQL over TLS, the certificate checked against that
   * CA and the host name ({@code sslmode=verify-full}), unless the URL sets its own sslmode.
   */
  String url() {
    String url = dbUrl.strip();
    if (caFile == null) {
      return url;
    }
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("--ca-file is for a PostgreSQL --db-url (jdbc:postgresql://...), not '" + url + "'");
    }
    if (!java.nio.file.Files.isReadable(caFile)) {
      throw new IllegalArgumentException("--ca-file " + caFile + " cannot be read");
    }
    if (url.contains("sslmode=")) {
      return url;
    }
    return url + (url.contains("?") ? "&" : "?") + "ssl=true&sslmode=verify-full&sslrootcert="
        + java.net.URLEncoder.encode(caFile.toAbsolutePath().toString(), java.nio.charset.StandardCharsets.UTF_8);
  }

  dev.torpor.scheduler.ClusterOptions cluster() {
    if (leaseTtl.compareTo(Duration.ofSeconds(2)) < 0) {
      throw new IllegalArgumentException("--lease-ttl must be at least 2s, got " + leaseTtl);
    }
    // Renew ten times per lease, at most once a second.
    long intervalMillis = Math.min(1_000, leaseTtl.toMillis() / 10);
    return new dev.torpor.scheduler.ClusterOptions(Duration.ofMillis(intervalMillis), leaseTtl);
  }
}
