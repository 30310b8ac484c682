/**
 * The HTTP API of {@code torpor server}: JSON over HTTP/1.1 in front of a
 * {@link dev.torpor.scheduler.ControlPlane}. See {@link dev.torpor.launcher.http.HttpApi} for the
 * endpoints. Internal: no compatibility guarantee for the Java types; the wire format is
 * versioned by the {@code /v1} prefix.
 */
package dev.torpor.launcher.http;
