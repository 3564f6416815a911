package io.textspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.fs.StagedOutput;
import io.textspark.testing.FileSystemServers;
import io.textspark.testing.HadoopTree;
import io.textspark.testing.Shared;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jobs/bin/textspark} on S3 as the README shows it: {@code --conf conf/s3.conf} with the
 * endpoint of a local S3 server instead of AWS's, credentials from the standard AWS environment
 * variables, and S3A from the launcher's own Spark classpath.
 */
class S3LauncherIT {
  @RegisterExtension static final FileSystemServers SERVERS = new FileSystemServers();

  @TempDir Path tmp;

  @Test
  void downloadsFromAndWritesToS3WithTheExampleConfAndEnvironmentCredentials() throws Exception {
    Configuration conf = SERVERS.conf();
    String root = SERVERS.s3a() + "/launcher";
    HadoopTree.upload(Shared.colaZip(), new org.apache.hadoop.fs.Path(root + "/mirror/cola_public.zip"), conf);

    Map<String, String> env = new HashMap<>(SERVERS.s3Environment());
    env.put("TEXTSPARK_JAVA_OPTS", "-Daws.disableEc2Metadata=true");
    Launcher.Result r = Launcher.run(tmp, "1g", env, Duration.ofMinutes(5), List.of(
        "download", "--conf", Path.of("..", "conf", "s3.conf").toAbsolutePath().toString(),
        "data.url=" + root + "/mirror/cola_public.zip", "data.root=" + root + "/cola",
        // conf/s3.conf names AWS; this server is on loopback, needs path-style access, and the
        // environment is the only credentials provider here (no instance metadata service).
        "hadoop.fs.s3a.endpoint=" + SERVERS.s3Endpoint(), "hadoop.fs.s3a.endpoint.region=us-east-1",
        "hadoop.fs.s3a.path.style.access=true",
        "hadoop.fs.s3a.aws.credentials.provider="
            + "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"));
    String output = r.output();
    System.out.println(output);
    assertEquals(0, r.code(), output);
    assertTrue(output.contains("download: wrote " + root + "/cola/raw (train 8551 rows, validation 1043 rows"), output);
    assertTrue(StagedOutput.marker(new org.apache.hadoop.fs.Path(root + "/cola/raw"), conf).isPresent());
    assertFalse(output.contains(SERVERS.s3SecretKey()), "the secret is not printed");
  }
}
