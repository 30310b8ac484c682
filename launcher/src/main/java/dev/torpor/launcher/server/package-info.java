/** {@code torpor server}: the control plane, an embedded worker and the HTTP API in one process. Internal. */
package dev.torpor.launcher.server;
