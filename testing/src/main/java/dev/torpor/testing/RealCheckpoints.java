package dev.torpor.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Opts a test method (or every test of a class) into real checkpoints: the {@link
 * TorporTestEnvironment} that {@link TorporExtension} hands it runs each workflow under a real
 * worker with CRIU (see {@link TorporTestEnvironment.Builder#realCheckpoints}). The worker is the
 * {@code torpor} CLI's jar named by the system property {@value #JAR_PROPERTY}; the test then needs
 * root and CRIU, as any worker does.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface RealCheckpoints {
  /** The system property that names the {@code torpor} CLI's jar. */
  String JAR_PROPERTY = "torpor.cli.jar";
}
