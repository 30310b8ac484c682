package dev.torpor.storage;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/** Turns the SDK's unchecked exceptions into {@link IOException}s that say what failed where. */
final class S3Errors {
  private S3Errors() {}

  /** The HTTP status of a service error, or 0 if the server gave no answer. */
  static int status(SdkException e) {
    return e instanceof SdkServiceException service ? service.statusCode() : 0;
  }

  /** The S3 error code ({@code NoSuchBucket}, {@code AccessDenied}...), or "" if there is none. */
  static String code(SdkException e) {
    if (e instanceof AwsServiceException aws) {
      AwsErrorDetails details = aws.awsErrorDetails();
      if (details != null && details.errorCode() != null) {
        return details.errorCode();
      }
    }
    return "";
  }

  static boolean isNotFound(SdkException e) {
    return status(e) == 404;
  }

  /**
   * What went wrong, in one line: {@code HTTP 403 AccessDenied: Access Denied} for an answer of
   * the server, the root cause (say, {@code Connection refused}) when there was none.
   */
  static String reason(SdkException e) {
    if (e instanceof SdkServiceException) {
      String code = code(e);
      String message = null;
      if (e instanceof AwsServiceException aws
          && aws.awsErrorDetails() != null) {
        message = aws.awsErrorDetails().errorMessage();
      }
      return "HTTP " + status(e) + (code.isEmpty() ? "" : " " + code)
          + (message == null || message.isBlank() ? "" : ": " + message);
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    if (root == e) {
      return message;
    }
    return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  /**
   * An IOException saying {@code cannot <action> at <where>: <reason>}, with the SDK's exception as
   * its cause; an {@link InterruptedIOException} (and the interrupt flag set again) if the thread
   * was interrupted.
   */
  static IOException io(String action, String where, SdkException e) {
    if (isInterrupt(e)) {
      Thread.currentThread().interrupt();
      InterruptedIOException interrupted =
          new InterruptedIOException("interrupted while trying to " + action + " at " + where);
      interrupted.initCause(e);
      return interrupted;
    }
    return new IOException("cannot " + action + " at " + where + ": " + reason(e), e);
  }

  /** Whether the SDK gave up because this thread was interrupted (a timeout is no interrupt). */
  private static boolean isInterrupt(Throwable e) {
    if (Thread.currentThread().isInterrupted()) {
      return true;
    }
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof InterruptedException
          || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
        return true;
      }
    }
    return false;
  }
}
