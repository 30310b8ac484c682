package dev.torpor.launcher.cli;

import dev.torpor.launcher.http.Images;
import java.net.http.HttpRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Checkpoint images in the server's store. */
@Command(
    name = "images",
    mixinStandardHelpOptions = true,
    description = "Checkpoint images in the server's store. `torpor status ID` shows one workflow's count and size.",
    subcommands = {ImagesCommand.Gc.class, ImagesCommand.Keygen.class})
public final class ImagesCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "name a subcommand: gc or keygen");
  }

  /** Prints a new image key. */
  @Command(
      name = "keygen",
      mixinStandardHelpOptions = true,
      description = {
        "Prints a new random image key (base64, 32 bytes) for --image-key-file. To rotate, put the new key on the",
        "first line of the file and keep the old ones below it until no image written under them is left:",
        "  torpor images keygen > keys && chmod 600 keys"
      })
  public static final class Keygen implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      spec.commandLine().getOut().println(dev.torpor.storage.crypto.ImageKeyring.generate());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  /** Deletes images nobody will restore. */
  @Command(
      name = "gc",
      mixinStandardHelpOptions = true,
      description = {
        "Deletes, now, the images nobody will restore: every image of a finished workflow but its last, and that",
        "last one once the server's --image-retention has passed since the workflow finished. The server also",
        "does this every --image-gc-interval."
      })
  public static final class Gc extends ApiCommand {
    @Mixin OutputOptions output;

    @Option(names = "--dry-run", description = "Only count what would be deleted.")
    boolean dryRun;

    @Override
    int call(ApiClient api) {
      ApiClient.Reply reply = api.post(ApiClient.path("v1", "images", "gc") + "?dryRun=" + dryRun,
          HttpRequest.BodyPublishers.noBody(), "application/json");
      if (output.json()) {
        printJson(reply);
        return 0;
      }
      Images.Report r = reply.as(Images.Report.class);
      out().println((r.dryRun() ? "would delete " : "deleted ") + r.imagesDeleted() + " image(s), "
          + ViewText.megabytes(r.bytesDeleted()) + ", of " + r.workflows() + " finished workflow(s); kept "
          + r.imagesKept() + " last image(s), " + ViewText.megabytes(r.bytesKept()) + ", until their retention ends");
      r.errors().forEach(e -> out().println("could not delete " + e + " (the next collection retries)"));
      out().flush();
      return r.errors().isEmpty() ? 0 : ExitCodes.FAILURE;
    }
  }
}
