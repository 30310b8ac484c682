/** The {@code torpor} command line; see {@link dev.torpor.launcher.Main}. */
package dev.torpor.launcher;
