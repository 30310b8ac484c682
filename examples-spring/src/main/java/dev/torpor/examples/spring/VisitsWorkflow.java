package dev.torpor.examples.spring;

import dev.torpor.Durable;
import java.time.Duration;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A Spring Boot application with a HikariCP pool on PostgreSQL that writes, waits, and writes
 * again. Nothing in it knows about checkpoints but the wait: Spring Boot registers its
 * HikariCheckpointRestoreLifecycle, and Spring Framework's lifecycle processor registers itself
 * with {@code org.crac}, which in a workflow JVM is Torpor. So the pool's connections are closed
 * before the checkpoint and opened again after the restore. Run it with {@code
 * --spring.datasource.url=jdbc:postgresql://...} and {@code --spring.datasource.username=...}.
 */
@SpringBootApplication
public class VisitsWorkflow {
  public static void main(String[] args) {
    ConfigurableApplicationContext context = SpringApplication.run(VisitsWorkflow.class, args);
    JdbcTemplate db = context.getBean(JdbcTemplate.class);
    db.execute("CREATE TABLE IF NOT EXISTS visits (n INT PRIMARY KEY, backend INT)");
    visit(db, 1);
    Durable.waitFor(Duration.ofSeconds(2));
    visit(db, 2);
    System.out.println("visits: " + db.queryForObject("SELECT count(*) FROM visits", Integer.class));
    // Spring Framework's CRaC integration leaves a non-daemon thread ("prevent-shutdown") behind
    // after a checkpoint, on a CRaC JDK as here: an application that should end says so.
    System.exit(SpringApplication.exit(context));
  }

  private static void visit(JdbcTemplate db, int n) {
    db.update("INSERT INTO visits VALUES (?, pg_backend_pid()) ON CONFLICT (n) DO UPDATE SET backend = EXCLUDED.backend", n);
    int backend = db.queryForObject("SELECT backend FROM visits WHERE n = ?", Integer.class, n);
    System.out.println("visit " + n + " by backend " + backend);
  }
}
