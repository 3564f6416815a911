package io.textspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The {@code hadoop} section: Hadoop keys in files and on the command line, credentials refused. */
class HadoopConfigTest {
  private static final Path CONF = Path.of("..", "conf");

  @TempDir Path tmp;

  private Path file(String hocon) throws IOException {
    Path f = Files.createTempFile(tmp, "conf", ".conf");
    Files.writeString(f, hocon);
    return f;
  }

  @Test
  void emptyByDefault() {
    assertEquals(Map.of(), TextSparkConfig.withOverrides().hadoop().settings());
  }

  @Test
  void quotedAndNestedKeysInFilesAndDottedKeysOnTheCommandLineAreTheSameHadoopKeys() throws IOException {
    Path quoted = file("hadoop { \"fs.s3a.endpoint\" = \"http://a:9000\", \"fs.s3a.endpoint.region\" = eu-west-1 }");
    Path nested = file("hadoop { fs.s3a.endpoint = \"http://b:9000\"\n fs.s3a.path.style.access = true }");

    HadoopConfig h = TextSparkConfig.load(List.of(quoted.toString(), nested.toString()), List.of()).hadoop();
    assertEquals(Map.of("fs.s3a.endpoint", "http://b:9000", "fs.s3a.endpoint.region", "eu-west-1",
        "fs.s3a.path.style.access", "true"), h.settings(), "the later file wins, key by key");

    h = TextSparkConfig.load(List.of(quoted.toString(), nested.toString()),
        List.of("hadoop.fs.s3a.endpoint=http://c:9000")).hadoop();
    assertEquals("http://c:9000", h.settings().get("fs.s3a.endpoint"), "the command line wins");

    Configuration conf = h.applyTo(new Configuration(false));
    assertEquals("http://c:9000", conf.get("fs.s3a.endpoint"));
    assertEquals("true", conf.get("fs.s3a.path.style.access"));
  }

  @Test
  void listsBecomeHadoopsCommaSeparatedValues() throws IOException {
    Path f = file("hadoop { \"fs.s3a.aws.credentials.provider\" = [a.B, c.D] }");
    assertEquals("a.B,c.D", TextSparkConfig.load(List.of(f.toString()), List.of()).hadoop().settings()
        .get("fs.s3a.aws.credentials.provider"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"fs.s3a.secret.key", "fs.s3a.access.key", "fs.s3a.session.token",
      "fs.s3a.bucket.b.secret.key", "fs.azure.account.key.acct.dfs.core.windows.net",
      "fs.azure.account.oauth2.client.secret", "ssl.server.keystore.password"})
  void credentialsAreRefusedWithoutEchoingTheirValue(String key) throws IOException {
    ConfigError onLine = assertThrows(ConfigError.class,
        () -> TextSparkConfig.withOverrides("hadoop." + key + "=s3cr3t-value"));
    assertTrue(onLine.getMessage().contains(key) && onLine.getMessage().contains("AWS_SECRET_ACCESS_KEY"),
        onLine.getMessage());
    assertFalse(onLine.getMessage().contains("s3cr3t-value"), onLine.getMessage());

    Path f = file("hadoop { \"" + key + "\" = \"s3cr3t-value\" }");
    ConfigError inFile = assertThrows(ConfigError.class,
        () -> TextSparkConfig.load(List.of(f.toString()), List.of()));
    assertTrue(inFile.getMessage().contains(f.toString()), inFile.getMessage());
    assertFalse(inFile.getMessage().contains("s3cr3t-value"), inFile.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"fs.s3a.aws.credentials.provider", "hadoop.security.credential.provider.path",
      "fs.s3a.delegation.token.binding", "fs.s3a.endpoint"})
  void settingsThatOnlyNameWhereCredentialsComeFromAreAccepted(String key) {
    assertEquals("x", TextSparkConfig.withOverrides("hadoop." + key + "=x").hadoop().settings().get(key));
  }

  @Test
  void unknownKeysOutsideTheSectionAreStillRefused() {
    ConfigError e = assertThrows(ConfigError.class, () -> TextSparkConfig.withOverrides("hadoopp.x=1"));
    assertTrue(e.getMessage().contains("unknown configuration key hadoopp.x"), e.getMessage());
  }

  @Test
  void theSectionIsRenderedWithTheRestForProvenance() {
    String json = TextSparkConfig.withOverrides("hadoop.fs.s3a.endpoint=http://a:9000").renderedJson();
    assertTrue(json.contains("\"fs.s3a.endpoint\"") && json.contains("http://a:9000"), json);
  }

  @Test
  void theExampleFilesLoadAndPointEveryStageAtTheirFileSystem() {
    TextSparkConfig hdfs = TextSparkConfig.load(List.of(CONF.resolve("hdfs.conf").toString()), List.of());
    assertTrue(hdfs.data().root().startsWith("hdfs://"), hdfs.data().root());
    assertTrue(hdfs.train().outputDir().startsWith("hdfs://"), hdfs.train().outputDir());

    TextSparkConfig s3 = TextSparkConfig.load(List.of(CONF.resolve("s3.conf").toString()), List.of());
    assertTrue(s3.data().root().startsWith("s3a://"), s3.data().root());
    assertTrue(s3.train().outputDir().startsWith("s3a://"), s3.train().outputDir());
    Map<String, String> h = s3.hadoop().settings();
    assertEquals("false", h.get("fs.s3a.path.style.access"));
    assertTrue(h.get("fs.s3a.endpoint").startsWith("https://"), h.toString());
    assertEquals(List.of("software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider"),
        List.of(h.get("fs.s3a.aws.credentials.provider").split(",")));
  }
}
