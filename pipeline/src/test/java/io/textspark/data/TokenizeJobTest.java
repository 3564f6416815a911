package io.textspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.config.TextSparkConfig;
import io.textspark.fs.Download;
import io.textspark.testing.Files2;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyBert;
import io.textspark.text.TokenizerCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeJobTest {
  @TempDir static Path shared;
  @TempDir Path tmp;
  private final SparkSession spark = SharedSpark.get();
  private static Path data;

  @BeforeAll
  static void download() {
    data = shared.resolve("data");
    DownloadJob.run(SharedSpark.get(), TextSparkConfig.withOverrides(
        "data.url=" + Shared.colaZip().toUri(), "data.root=" + data));
  }

  /** A copy of the downloaded data, so each test tokenizes into its own folder. */
  private Path copyOfRaw() throws IOException {
    Path root = tmp.resolve("data");
    Path src = data.resolve("raw");
    try (var files = Files.walk(src)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path dst = root.resolve("raw").resolve(src.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dst);
        } else {
          Files.copy(p, dst);
        }
      }
    }
    return root;
  }

  /** The Hub name whose cached download the first test checks (the default model is another). */
  private static final String MINILM = "sentence-transformers/all-MiniLM-L6-v2";

  private TextSparkConfig config(Path root, String... more) {
    List<String> all = new java.util.ArrayList<>(List.of(
        "data.root=" + root, "model.hub_endpoint=" + Shared.hubEndpoint(), "model.cache_dir=" + tmp.resolve("hub")));
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all);
  }

  @Test
  void tokenizesBothSplitsUnpaddedWithMetadata() throws IOException {
    Path root = copyOfRaw();
    int builtBefore = TokenizerCache.built();
    TokenizeJob.Report report = TokenizeJob.run(spark, config(root, "tokenize.partitions=4", "model.name=" + MINILM));
    assertFalse(report.skipped());
    assertEquals(8551, report.rows()[0]);
    assertEquals(1043, report.rows()[1]);
    assertTrue(TokenizerCache.built() - builtBefore <= 1, "one tokenizer per JVM, not per task or row");

    Dataset<Row> train = spark.read().parquet(root.resolve("tokenized/train").toString());
    assertEquals(8551, train.count());
    assertEquals(6023, train.where("label = 1").count());
    assertEquals(0, train.where("size(input_ids) != length").count());
    assertEquals(0, train.where("input_ids[0] != 101 OR element_at(input_ids, -1) != 102").count());
    int longest = train.agg(functions.max("length")).first().getInt(0);
    int shortest = train.agg(functions.min("length")).first().getInt(0);
    assertTrue(longest <= 128 && shortest < 10, "unpadded: lengths vary (" + shortest + ".." + longest + ")");
    assertTrue(train.inputFiles().length >= 2, "written by parallel tasks");

    // The first training sentence is the first reference sentence: its ids must match exactly.
    JsonArray refs = JsonParser.parseString(Files.readString(Shared.referenceHidden())).getAsJsonArray();
    JsonArray expected = refs.get(0).getAsJsonObject().getAsJsonArray("input_ids");
    List<Integer> got = train.where("idx = 0").first().getList(3);
    int[] exp = new int[expected.size()];
    for (int i = 0; i < exp.length; i++) {
      exp[i] = expected.get(i).getAsInt();
    }
    assertArrayEquals(exp, got.stream().mapToInt(Integer::intValue).toArray());

    Dataset<Row> validation = spark.read().parquet(root.resolve("tokenized/validation").toString());
    assertEquals(516, validation.where("domain = 'out'").count());

    JsonObject marker = JsonParser.parseString(Files.readString(root.resolve("tokenized/_textspark.json")))
        .getAsJsonObject();
    byte[] tokenizer = Files.readAllBytes(Shared.miniLm().resolve("tokenizer.json"));
    assertEquals(Download.sha256Hex(tokenizer), marker.get("tokenizer_sha256").getAsString());
    assertEquals(128, marker.get("max_length").getAsInt());
    assertEquals(8551, marker.getAsJsonObject("rows").get("train").getAsLong());
    assertTrue(Files.isRegularFile(tmp.resolve("hub/sentence-transformers-all-MiniLM-L6-v2/main/tokenizer.json")),
        "the Hub download is cached");

    assertTrue(TokenizeJob.run(spark, config(root, "tokenize.partitions=4", "model.name=" + MINILM)).skipped(),
        "second run is a no-op");
  }

  @Test
  void truncatesAtMaxLengthAndCountsIt() throws IOException {
    Path root = copyOfRaw();
    TokenizeJob.Report report = TokenizeJob.run(spark, config(root, "tokenize.max_length=8"));
    Dataset<Row> train = spark.read().parquet(root.resolve("tokenized/train").toString());
    long cut = train.where("truncated").count();
    assertTrue(cut > 1000, "many CoLA sentences exceed 8 tokens");
    assertEquals(cut, report.truncated()[0]);
    assertEquals(0, train.where("length > 8").count());
    assertEquals(0, train.where("truncated AND element_at(input_ids, -1) != 102").count());
  }

  @Test
  void readsAModelFolderInPlace() throws IOException {
    Path root = copyOfRaw();
    TokenizeJob.Report report = TokenizeJob.run(spark, config(root, "model.name=" + Shared.miniLm()));
    assertEquals(8551, report.rows()[0]);
  }

  @Test
  void refusesAModelWithoutTokenizer() throws IOException {
    Path root = copyOfRaw();
    Path model = tmp.resolve("model");
    Files.createDirectories(model);
    Files.copy(Shared.miniLm().resolve("config.json"), model.resolve("config.json"));
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> TokenizeJob.run(spark, config(root, "model.name=" + model)));
    assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    assertFalse(Files.exists(root.resolve("tokenized")));
    assertEquals(List.of("raw"), Files2.tree(root).stream().filter(p -> !p.contains("/")).toList());
  }

  @Test
  void refusesAModelOfAnUnsupportedFamily() throws IOException {
    Path root = copyOfRaw();
    Path model = TinyBert.writeFolderOfModelType(tmp.resolve("model"), 1, "gpt2");
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> TokenizeJob.run(spark, config(root, "model.name=" + model)));
    assertTrue(e.getMessage().contains("model " + model + " has model_type \"gpt2\", which textspark does not"
        + " support; supported: bert, roberta, distilbert, electra, deberta-v2."), e.getMessage());
    assertEquals(List.of("raw"), Files2.tree(root).stream().filter(p -> !p.contains("/")).toList());
  }

  @Test
  void refusesAHubModelThatDoesNotExist() throws IOException {
    Path root = copyOfRaw();
    TextSparkException e = assertThrows(TextSparkException.class,
        () -> TokenizeJob.run(spark, config(root, "model.name=nobody/no-such-model")));
    assertTrue(e.getMessage().contains("no usable tokenizer.json"), e.getMessage());
    assertTrue(e.getMessage().contains("HF_ENDPOINT"), e.getMessage());
    assertFalse(Files.exists(root.resolve("tokenized")));
  }

  @Test
  void refusesToRunBeforeDownload() {
    Path root = tmp.resolve("empty");
    TextSparkException e = assertThrows(TextSparkException.class, () -> TokenizeJob.run(spark, config(root)));
    assertTrue(e.getMessage().contains("run `textspark download` first"), e.getMessage());
    assertEquals(List.of(), Files2.tree(root));
  }
}
