/** One class per {@code torpor} subcommand. Internal: no compatibility guarantee. */
package dev.torpor.launcher.cli;
