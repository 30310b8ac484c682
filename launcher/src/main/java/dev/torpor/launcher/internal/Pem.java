package dev.torpor.launcher.internal;

import dev.torpor.TorporException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS material from PEM files, as {@code openssl} writes them: certificate chains, PKCS#8 private
 * keys ({@code BEGIN PRIVATE KEY}, RSA or EC), and CA bundles. Every refusal names the file and
 * says how to make one that works.
 */
public final class Pem {
  private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

  private Pem() {}

  /** The certificates in a PEM file, in order. */
  public static List<X509Certificate> certificates(Path file) {
    byte[] pem = read(file, "certificate");
    List<X509Certificate> certs = new ArrayList<>();
    try {
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
        certs.add((X509Certificate) c);
      }
    } catch (CertificateException e) {
      throw new TorporException(file + " does not hold PEM certificates (-----BEGIN CERTIFICATE-----): " + e.getMessage(), e);
    }
    if (certs.isEmpty()) {
      throw new TorporException(file + " holds no certificate: give a PEM file with -----BEGIN CERTIFICATE----- blocks");
    }
    return certs;
  }

  /** The PKCS#8 private key in a PEM file (RSA, EC or Ed25519). */
  public static PrivateKey privateKey(Path file) {
    String pem = new String(read(file, "private key"), StandardCharsets.US_ASCII);
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      String type = m.group(1);
      if (type.equals("PRIVATE KEY")) {
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
          try {
            return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
          } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
            // try the next algorithm
          }
        }
        throw new TorporException(file + " holds a PKCS#8 key of an algorithm Torpor cannot read: use RSA or EC");
      }
      if (type.equals("ENCRYPTED PRIVATE KEY")) {
        throw new TorporException(file + " holds an encrypted key: decrypt it for the server with"
            + " `openssl pkcs8 -in " + file + " -out key.pem` and keep that file 0600");
      }
      if (type.endsWith("PRIVATE KEY")) {
        throw new TorporException(file + " holds a " + type + " (PKCS#1/SEC1); Torpor reads PKCS#8: convert it with"
            + " `openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key.pem`");
      }
    }
    throw new TorporException(file + " holds no private key: give a PEM file with -----BEGIN PRIVATE KEY-----");
  }

  /** A server context presenting the chain in {@code certFile} with the key in {@code keyFile}. */
  public static SSLContext serverContext(Path certFile, Path keyFile) {
    List<X509Certificate> chain = certificates(certFile);
    PrivateKey key = privateKey(keyFile);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] none = new char[0];
      ks.setKeyEntry("torpor", key, none, chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, none);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new TorporException("cannot use the certificate " + certFile + " with the key " + keyFile + " (do they belong"
          + " together?): " + e.getMessage(), e);
    }
  }

  /** Trust managers that trust exactly the certificates in {@code caFile}. */
  public static TrustManager[] trustManagers(Path caFile) {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int i = 0;
      for (X509Certificate c : certificates(caFile)) {
        ks.setCertificateEntry("ca" + (i++), c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      return tmf.getTrustManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new TorporException("cannot trust the certificates in " + caFile + ": " + e.getMessage(), e);
    }
  }

  /** A client context that trusts exactly the certificates in {@code caFile}. */
  public static SSLContext trusting(Path caFile) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, trustManagers(caFile), null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new TorporException("cannot set up TLS with " + caFile + ": " + e.getMessage(), e);
    }
  }

  private static byte[] read(Path file, String what) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new TorporException("cannot read the " + what + " file " + file + ": " + e.getMessage(), e);
    }
  }
}
