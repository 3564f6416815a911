package io.textspark.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real HDFS (NameNode and DataNode) and a real S3 server (s3proxy, in-memory) on 127.0.0.1, for
 * integration tests that run stages on {@code hdfs://} and {@code s3a://}. Each server runs in its
 * own JVM on its own classpath, resolved by the {@code test-servers} module, because their
 * unshaded Hadoop, Jetty and Guava would clash with Spark's.
 *
 * <p>Register it as {@code @RegisterExtension static final FileSystemServers SERVERS = new
 * FileSystemServers();}. The servers start when the first test class that registers it starts,
 * are shared by every later class in the same test JVM, and stop after the last test; a class
 * keeps out of the others' way by working below its own folder ({@link #root}).
 *
 * <p>S3 needs credentials: the server accepts one random key pair, which {@link #configure} puts
 * in a Hadoop configuration (as {@code spark.hadoop.fs.s3a.bucket.<bucket>.*} settings would) and
 * {@link #s3Environment} gives as the standard AWS environment variables. Tests can then check that
 * no output contains {@link #s3SecretKey}.
 */
public final class FileSystemServers implements BeforeAllCallback {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(FileSystemServers.class);
  private static final int START_SECONDS = 120;

  private Servers servers;

  @Override
  public void beforeAll(ExtensionContext context) {
    servers = context.getRoot().getStore(NAMESPACE)
        .getOrComputeIfAbsent(Servers.class, key -> Servers.start(), Servers.class);
  }

  /** The HDFS NameNode, {@code hdfs://127.0.0.1:<port>}. */
  public String hdfs() {
    return started().hdfs;
  }

  /** The test bucket, {@code s3a://<bucket>}. */
  public String s3a() {
    return "s3a://" + started().bucket;
  }

  /** The bucket's name. */
  public String bucket() {
    return started().bucket;
  }

  /** {@code hdfs()} or {@code s3a()} followed by {@code /<folder>}: a test's own place on that file system. */
  public String root(String scheme, String folder) {
    return root(scheme, bucket(), folder);
  }

  /** Like {@link #root(String, String)}, in {@code bucket} when the scheme is s3a. */
  public String root(String scheme, String bucket, String folder) {
    switch (scheme) {
      case "hdfs":
        return hdfs() + "/" + folder;
      case "s3a":
        return "s3a://" + bucket + "/" + folder;
      default:
        throw new IllegalArgumentException("no test server for " + scheme + "; use hdfs or s3a");
    }
  }

  /** The S3 endpoint, {@code http://127.0.0.1:<port>}. */
  public String s3Endpoint() {
    return started().s3Endpoint;
  }

  /** The S3 access key id. */
  public String s3AccessKey() {
    return started().accessKey;
  }

  /** The S3 secret key: no output of a test should ever contain it. */
  public String s3SecretKey() {
    return started().secretKey;
  }

  /**
   * The non-secret S3A settings for {@code bucket}: endpoint, path-style access, region, and the
   * one credentials provider that reads {@code fs.s3a.*.access.key}/{@code secret.key}, so that S3A
   * never falls back to asking the EC2 instance metadata service, which is not on this machine.
   */
  public Map<String, String> s3Settings(String bucket) {
    String prefix = "fs.s3a.bucket." + bucket + ".";
    Map<String, String> m = new LinkedHashMap<>();
    m.put(prefix + "endpoint", s3Endpoint());
    m.put(prefix + "endpoint.region", "us-east-1");
    m.put(prefix + "path.style.access", "true");
    m.put(prefix + "aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    // Fail within seconds, not minutes, when something is wrong with the server.
    m.put(prefix + "attempts.maximum", "2");
    m.put(prefix + "retry.limit", "2");
    return m;
  }

  /** The S3 credentials for {@code bucket} as Hadoop settings (which never go into a textspark config). */
  public Map<String, String> s3Credentials(String bucket) {
    String prefix = "fs.s3a.bucket." + bucket + ".";
    return Map.of(prefix + "access.key", s3AccessKey(), prefix + "secret.key", s3SecretKey());
  }

  /** The settings and the credentials of the shared bucket, applied to {@code conf}; returns it. */
  public Configuration configure(Configuration conf) {
    s3Settings(bucket()).forEach(conf::set);
    s3Credentials(bucket()).forEach(conf::set);
    return conf;
  }

  /** A fresh Hadoop configuration that reaches both servers and the shared bucket. */
  public Configuration conf() {
    return configure(new Configuration());
  }

  /**
   * Creates another bucket and returns its name: a test that must be the first to open an S3A file
   * system on its bucket (Hadoop caches one per bucket, with the settings it was opened with) uses
   * one of its own.
   */
  public String createBucket(String prefix) {
    String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    Servers.createBucket(s3Endpoint(), s3AccessKey(), s3SecretKey(), name);
    return name;
  }

  /** The credentials as the standard AWS environment variables, for child processes. */
  public Map<String, String> s3Environment() {
    return Map.of("AWS_ACCESS_KEY_ID", s3AccessKey(), "AWS_SECRET_ACCESS_KEY", s3SecretKey(),
        "AWS_EC2_METADATA_DISABLED", "true");
  }

  private Servers started() {
    if (servers == null) {
      throw new IllegalStateException("FileSystemServers is used before its beforeAll: register it with"
          + " @RegisterExtension on a static field.");
    }
    return servers;
  }

  /** Where the test-servers module wrote its classpath files. */
  static Path serversTarget() {
    String prop = System.getProperty("textspark.test.servers");
    Path dir = prop != null ? Path.of(prop) : Path.of("..", "test-servers", "target");
    if (!Files.isRegularFile(dir.resolve("hdfs-classpath.txt"))) {
      throw new IllegalStateException("the test servers are not built (" + dir.toAbsolutePath() + " has no"
          + " hdfs-classpath.txt). Build them first: mvn -pl test-servers package");
    }
    return dir.toAbsolutePath().normalize();
  }

  /** Both servers, started together; closing stops both. */
  static final class Servers implements AutoCloseable {
    private final ChildJvm hdfsJvm;
    private final ChildJvm s3Jvm;
    private final String hdfs;
    private final String s3Endpoint;
    private final String bucket;
    private final String accessKey;
    private final String secretKey;

    private Servers(ChildJvm hdfsJvm, ChildJvm s3Jvm, String hdfs, String s3Endpoint, String bucket, String accessKey,
        String secretKey) {
      this.hdfsJvm = hdfsJvm;
      this.s3Jvm = s3Jvm;
      this.hdfs = hdfs;
      this.s3Endpoint = s3Endpoint;
      this.bucket = bucket;
      this.accessKey = accessKey;
      this.secretKey = secretKey;
    }

    static Servers start() {
      // The AWS SDK must never look for instance metadata (169.254.169.254): nothing but loopback here.
      System.setProperty("aws.disableEc2Metadata", "true");
      Path target = serversTarget();
      Path work;
      try {
        work = Files.createDirectories(Path.of("target", "fs-servers")).toAbsolutePath();
        work = Files.createTempDirectory(work, "run-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      String classes = target.resolve("classes").toString();
      ChildJvm hdfsJvm = null;
      ChildJvm s3Jvm = null;
      try {
        Path ready = work.resolve("hdfs.uri");
        hdfsJvm = ChildJvm.start("HDFS", classes + ":" + read(target.resolve("hdfs-classpath.txt")),
            List.of("-Xmx512m"), "io.textspark.servers.HdfsServer",
            List.of(work.resolve("hdfs").toString(), ready.toString()), Map.of(), work.resolve("hdfs.log"));

        int port = freePort();
        String accessKey = "AKTS" + UUID.randomUUID().toString().replace("-", "").substring(0, 16).toUpperCase();
        String secretKey = "secret-" + UUID.randomUUID();
        String endpoint = "http://127.0.0.1:" + port;
        Path props = work.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
            "s3proxy.endpoint=" + endpoint,
            "s3proxy.authorization=aws-v2-or-v4",
            "s3proxy.identity=" + accessKey,
            "s3proxy.credential=" + secretKey,
            // The in-memory map store: like S3, it never answers a HEAD of "a" with the marker "a/", which
            // its successor transient-nio2 does, making S3A take folders for files.
            "jclouds.provider=transient",
            "jclouds.identity=unused",
            "jclouds.credential=unused",
            ""), StandardCharsets.UTF_8);
        s3Jvm = ChildJvm.start("s3proxy", classes + ":" + read(target.resolve("s3proxy-classpath.txt")),
            List.of("-Xmx768m", "-DLOG_LEVEL=warn"), "io.textspark.servers.Supervised",
            List.of("org.gaul.s3proxy.Main", "--properties", props.toString()), Map.of(), work.resolve("s3proxy.log"));

        awaitPort(s3Jvm, port);
        String bucket = "textspark-" + UUID.randomUUID().toString().substring(0, 8);
        createBucket(endpoint, accessKey, secretKey, bucket);
        String hdfs = awaitFile(hdfsJvm, ready);
        System.out.println("test servers: HDFS " + hdfs + ", S3 " + endpoint + " bucket " + bucket + " (logs in "
            + work + ")");
        return new Servers(hdfsJvm, s3Jvm, hdfs, endpoint, bucket, accessKey, secretKey);
      } catch (IOException | RuntimeException | InterruptedException e) {
        if (hdfsJvm != null) {
          hdfsJvm.close();
        }
        if (s3Jvm != null) {
          s3Jvm.close();
        }
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("could not start the test servers: " + e.getMessage(), e);
      }
    }

    @Override
    public void close() {
      hdfsJvm.close();
      s3Jvm.close();
    }

    private static String read(Path file) throws IOException {
      return Files.readString(file, StandardCharsets.UTF_8).trim();
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      }
    }

    private static void awaitPort(ChildJvm jvm, int port) throws InterruptedException {
      long deadline = System.nanoTime() + START_SECONDS * 1_000_000_000L;
      while (System.nanoTime() < deadline) {
        if (!jvm.alive()) {
          throw new IllegalStateException(jvm + " exited while starting:\n" + jvm.tail());
        }
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
          return;
        } catch (IOException e) {
          Thread.sleep(100);
        }
      }
      throw new IllegalStateException(jvm + " did not listen on port " + port + " within " + START_SECONDS + " s:\n"
          + jvm.tail());
    }

    private static String awaitFile(ChildJvm jvm, Path file) throws IOException, InterruptedException {
      long deadline = System.nanoTime() + START_SECONDS * 1_000_000_000L;
      while (System.nanoTime() < deadline) {
        if (Files.isRegularFile(file)) {
          return Files.readString(file, StandardCharsets.UTF_8).trim();
        }
        if (!jvm.alive()) {
          throw new IllegalStateException(jvm + " exited while starting:\n" + jvm.tail());
        }
        Thread.sleep(100);
      }
      throw new IllegalStateException(jvm + " was not ready within " + START_SECONDS + " s:\n" + jvm.tail());
    }

    private static void createBucket(String endpoint, String accessKey, String secretKey, String bucket) {
      try (S3Client s3 = S3Client.builder()
          .endpointOverride(URI.create(endpoint))
          .region(Region.US_EAST_1)
          .forcePathStyle(true)
          .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
          .build()) {
        s3.createBucket(b -> b.bucket(bucket));
      }
    }
  }
}
