package io.textspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.textspark.TextSparkException;
import io.textspark.config.TextSparkConfig;
import io.textspark.fs.Download;
import io.textspark.testing.Files2;
import io.textspark.testing.LoopbackHttp;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DownloadJobTest {
  private static LoopbackHttp http;
  private static byte[] cola;
  private static String colaUrl;
  private final SparkSession spark = SharedSpark.get();

  @TempDir Path tmp;

  @BeforeAll
  static void serve() throws IOException {
    http = new LoopbackHttp();
    cola = Files.readAllBytes(Shared.colaZip());
    colaUrl = http.serve("/CoLA/cola_public_1.1.zip", cola);
  }

  @AfterAll
  static void stop() {
    http.close();
  }

  private TextSparkConfig config(String url, String... more) {
    String[] base = {"data.url=" + url, "data.root=" + tmp.resolve("data"), "data.timeout=2s"};
    String[] all = Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return TextSparkConfig.withOverrides(all);
  }

  private Dataset<Row> read(String split) {
    return spark.read().parquet(tmp.resolve("data/raw/" + split).toString());
  }

  @Test
  void downloadsColaOverHttpWithExactCountsAndText() {
    String sha = Download.sha256Hex(cola);
    DownloadJob.Report report = DownloadJob.run(spark, config(colaUrl, "data.sha256=" + sha));
    assertFalse(report.skipped());
    assertEquals(8551, report.train());
    assertEquals(1043, report.validation());
    assertEquals(0, report.rejects());

    Dataset<Row> train = read("train");
    Dataset<Row> validation = read("validation");
    assertEquals(8551, train.count());
    assertEquals(6023, train.where("label = 1").count());
    assertEquals(2528, train.where("label = 0").count());
    assertEquals(527, validation.where("domain = 'in'").count());
    assertEquals(516, validation.where("domain = 'out'").count());
    assertTrue(Arrays.asList(train.columns()).containsAll(List.of("idx", "source", "label", "sentence", "domain")));

    assertEquals("Our friends won't buy this analysis, let alone the next one we propose.",
        train.where("idx = 0").first().getAs("sentence"));
    assertEquals(1, train.where("sentence = 'Susan whispered \"Shut up\".'").count());
    Row jose = train.where("sentence = 'José likes cabbage, and Holly does too.'").first();
    assertEquals("bc01", jose.getAs("source"));
    assertEquals(1, (int) jose.getAs("label"));
    // Validation keeps in-domain rows first, then out-of-domain, numbered 0..1042.
    assertEquals(0, validation.agg(org.apache.spark.sql.functions.min("idx")).first().getInt(0));
    assertEquals(1042, validation.agg(org.apache.spark.sql.functions.max("idx")).first().getInt(0));
    assertEquals(0, validation.where("domain = 'out' AND idx < 527").count());
    assertEquals(0, spark.read().parquet(tmp.resolve("data/raw/rejects").toString()).count());
  }

  @Test
  void secondRunDoesNothingAndOverwriteRedoes() throws IOException {
    assertFalse(DownloadJob.run(spark, config(colaUrl)).skipped());
    long before = Files.getLastModifiedTime(tmp.resolve("data/raw/_textspark.json")).toMillis();
    DownloadJob.Report again = DownloadJob.run(spark, config(colaUrl));
    assertTrue(again.skipped());
    assertEquals(8551, again.train());
    assertEquals(before, Files.getLastModifiedTime(tmp.resolve("data/raw/_textspark.json")).toMillis());
    assertFalse(DownloadJob.run(spark, config(colaUrl, "data.overwrite=true")).skipped());
    assertEquals(8551, read("train").count());
  }

  @Test
  void worksFromAFileUrl() {
    DownloadJob.Report report = DownloadJob.run(spark, config(Shared.colaZip().toUri().toString()));
    assertEquals(8551, report.train());
  }

  @Test
  void anotherZipOverExistingOutputNeedsOverwrite() {
    DownloadJob.run(spark, config(colaUrl));
    String other = http.serve("/other.zip", smallCola(List.of("x\t1\t\tA fine sentence.")));
    TextSparkException e = assertThrows(TextSparkException.class, () -> DownloadJob.run(spark, config(other)));
    assertTrue(e.getMessage().contains("--overwrite"), e.getMessage());
    assertEquals(8551, read("train").count());
  }

  @Test
  void toleratesFewRejectsAndRecordsThem() {
    List<String> rows = new java.util.ArrayList<>();
    for (int i = 0; i < 200; i++) {
      rows.add("src\t" + (i % 2) + "\t\tSentence number " + i + ".");
    }
    rows.add("src\t2\t\tA bad label.");
    rows.add("only two\tcolumns");
    String url = http.serve("/few-rejects.zip", smallCola(rows));
    DownloadJob.Report report = DownloadJob.run(spark, config(url, "data.max_reject_fraction=0.05"));
    assertEquals(200, report.train());
    assertEquals(2, report.rejects());
    Dataset<Row> rejects = spark.read().parquet(tmp.resolve("data/raw/rejects").toString());
    assertEquals(2, rejects.count());
    assertEquals(1, rejects.where("reason LIKE 'label must be 0 or 1%' AND line = 201").count());
    assertEquals(1, rejects.where("reason LIKE 'expected 4 tab-separated columns%' AND line = 202").count());
  }

  @Test
  void refusesTooManyRejects() {
    List<String> rows = List.of("src\t1\t\tFine.", "src\tyes\t\tBad label.", "src\t0\t\tFine too.");
    assertRefused(http.serve("/many-rejects.zip", smallCola(rows)), "data.max_reject_fraction");
  }

  @Test
  void refusesUnreachableHost() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    assertRefused("http://127.0.0.1:" + port + "/cola.zip", "cannot reach");
  }

  @Test
  void refusesHttpErrors() {
    assertRefused(http.fail("/gone.zip", 404), "HTTP 404");
    assertRefused(http.fail("/broken.zip", 500), "HTTP 500");
  }

  @Test
  void refusesAStalledServerAfterTheTimeout() {
    long start = System.nanoTime();
    assertRefused(http.stall("/slow.zip"), "timed out");
    assertTrue((System.nanoTime() - start) / 1e9 < 30, "the 2 s timeout must end the download");
  }

  @Test
  void refusesAChecksumMismatch() {
    String wrong = "0".repeat(64);
    assertRefused(colaUrl, "checksum mismatch", "data.sha256=" + wrong);
  }

  @Test
  void refusesATruncatedZip() {
    assertRefused(http.serve("/truncated.zip", Arrays.copyOf(cola, cola.length / 2)), "not a readable zip");
  }

  @Test
  void refusesSomethingThatIsNotAZip() {
    byte[] html = "<html><body>Not found</body></html>".getBytes(StandardCharsets.UTF_8);
    assertRefused(http.serve("/page.html", html), "not a readable zip");
  }

  @Test
  void refusesAZipWithoutTheTsvs() {
    byte[] zip = Files2.zip(Map.of("readme.txt", "hello"));
    assertRefused(http.serve("/empty.zip", zip), "lacks raw/in_domain_train.tsv");
  }

  @Test
  void refusesAnUnwritableOutputBeforeDownloading() throws IOException {
    Path file = tmp.resolve("a-file");
    Files.writeString(file, "x");
    TextSparkConfig cfg = TextSparkConfig.withOverrides("data.url=" + colaUrl, "data.root=" + file.resolve("data"));
    TextSparkException e = assertThrows(TextSparkException.class, () -> DownloadJob.run(spark, cfg));
    assertTrue(e.getMessage().contains("not writable"), e.getMessage());
    assertEquals("x", Files.readString(file));
  }

  private void assertRefused(String url, String expected, String... more) {
    TextSparkException e =
        assertThrows(TextSparkException.class, () -> DownloadJob.run(spark, config(url, more)));
    assertTrue(e.getMessage().contains(expected), "message should contain '" + expected + "': " + e.getMessage());
    List<String> left = Files2.tree(tmp.resolve("data"));
    assertEquals(List.of(), left, "a refused download must leave nothing behind");
  }

  /** A zip shaped like CoLA whose training TSV holds {@code trainRows}; dev files get two good rows each. */
  static byte[] smallCola(List<String> trainRows) {
    Map<String, String> entries = new LinkedHashMap<>();
    entries.put("cola_public/raw/in_domain_train.tsv", String.join("\n", trainRows) + "\n");
    entries.put("cola_public/raw/in_domain_dev.tsv", "d1\t1\t\tThe cat sat.\nd1\t0\t*\tCat the sat.\n");
    entries.put("cola_public/raw/out_of_domain_dev.tsv", "d2\t1\t\tDogs bark.\nd2\t0\t*\tBark dogs the.\n");
    return Files2.zip(entries);
  }
}
