package io.textspark.data;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.config.TextSparkConfig;
import io.textspark.console.Console;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.model.ModelFamilies;
import io.textspark.model.ModelFiles;
import io.textspark.text.BertTokenizer;
import io.textspark.text.TokenizerCache;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import scala.collection.immutable.ArraySeq;
import scala.reflect.ClassTag;

/**
 * The {@code tokenize} stage: turns {@code raw/{train,validation}} into unpadded token ids with the
 * model's Hugging Face tokenizer, in parallel across partitions, and commits
 * {@code tokenized/{train,validation}} with a marker recording the tokenizer's SHA-256, the maximum
 * length and the row counts, so later stages can refuse a mismatched model.
 */
public final class TokenizeJob {
  /** The splits the stage writes. */
  public static final List<String> SPLITS = List.of("train", "validation");

  /** What a run did: per split, rows and rows truncated. */
  public record Report(boolean skipped, String tokenizerSha256, long[] rows, long[] truncated, Path output) {}

  private TokenizeJob() {}

  /** Runs the stage. */
  public static Report run(SparkSession spark, TextSparkConfig config) {
    Configuration conf = config.hadoop().applyTo(spark.sparkContext().hadoopConfiguration());
    DataLayout layout = new DataLayout(config.data().root());
    String rawSha = rawSha256(config, conf);

    ModelFiles model = ModelFiles.resolve(config.model(), conf);
    byte[] tokenizerJson = model.read(CheckpointLayout.TOKENIZER);
    // Data tokenized for a model that train cannot build would be wasted: refuse its family now.
    ModelFamilies.parseConfig(new String(model.read(CheckpointLayout.CONFIG), StandardCharsets.UTF_8),
        model.reference(), model.reference() + "/" + CheckpointLayout.CONFIG);
    String tokSha = Download.sha256Hex(tokenizerJson);
    int maxLength = config.tokenize().maxLength();
    // Build it here once: a broken tokenizer.json fails on the driver with a clear message.
    TokenizerCache.get(tokenizerJson, tokSha, maxLength);

    Path target = HadoopPaths.qualify(layout.tokenized(), conf);
    Optional<JsonObject> previous = StagedOutput.marker(target, conf);
    if (previous.isPresent() && !config.data().overwrite() && sameInputs(previous.get(), rawSha, tokSha, maxLength)) {
      Console.info("tokenize: " + target + " is up to date (same data, tokenizer and max_length); nothing to"
          + " do. Pass --overwrite to rebuild it.");
      JsonObject m = previous.get();
      return new Report(true, tokSha, counts(m, "rows"), counts(m, "truncated"), target);
    }

    Broadcast<byte[]> shared = spark.sparkContext().broadcast(tokenizerJson, ClassTag.apply(byte[].class));
    long[] rows = new long[SPLITS.size()];
    long[] truncated = new long[SPLITS.size()];
    try (StagedOutput out = StagedOutput.begin(target, conf)) {
      for (int i = 0; i < SPLITS.size(); i++) {
        String split = SPLITS.get(i);
        Dataset<Row> tokens = tokenize(spark, config, split, shared, tokSha);
        Path staged = new Path(out.staging(), split);
        tokens.write().mode(SaveMode.ErrorIfExists).parquet(staged.toString());
        Row stats = spark.read().parquet(staged.toString())
            .agg(functions.count(functions.lit(1)), functions.sum(functions.col("truncated").cast("long")))
            .first();
        rows[i] = stats.getLong(0);
        truncated[i] = stats.isNullAt(1) ? 0 : stats.getLong(1);
      }
      JsonObject marker = new JsonObject();
      marker.addProperty("stage", "tokenize");
      marker.addProperty("model", config.model().name());
      marker.addProperty("tokenizer_sha256", tokSha);
      marker.addProperty("max_length", maxLength);
      marker.addProperty("raw_sha256", rawSha);
      marker.add("rows", perSplit(rows));
      marker.add("truncated", perSplit(truncated));
      marker.addProperty("created", Instant.now().toString());
      out.commit(marker);
    } finally {
      shared.destroy();
    }
    Console.info("tokenize: wrote %s (train %d rows, validation %d rows; %d truncated at %d tokens)",
        target, rows[0], rows[1], truncated[0] + truncated[1], maxLength);
    return new Report(false, tokSha, rows, truncated, target);
  }

  /**
   * The SHA-256 of the downloaded data under {@code config}'s {@code data.root}, from its marker;
   * a clear error when nothing was downloaded there.
   */
  public static String rawSha256(TextSparkConfig config, Configuration conf) {
    Path raw = HadoopPaths.qualify(new DataLayout(config.data().root()).raw(), conf);
    JsonObject rawMarker = StagedOutput.marker(raw, conf).orElseThrow(() -> new TextSparkException(
        "no downloaded CoLA data at " + raw + ": run `textspark download` first (with the same data.root)."));
    return rawMarker.get("sha256").getAsString();
  }

  /**
   * {@code raw/<split>} under {@code config}'s {@code data.root} tokenized with {@code tokenizerJson}
   * (a broadcast {@code tokenizer.json} whose SHA-256 is {@code sha256}) at {@code tokenize.max_length},
   * in {@code tokenize.partitions} tasks, as rows of {@link ColaSchemas#TOKENIZED}: what the stage
   * writes, lazily, for callers that tokenize for another model without writing (the tuner). The
   * caller keeps the broadcast alive while the rows are read.
   */
  public static Dataset<Row> tokenize(SparkSession spark, TextSparkConfig config, String split,
      Broadcast<byte[]> tokenizerJson, String sha256) {
    int partitions = config.tokenize().partitions() > 0
        ? config.tokenize().partitions() : spark.sparkContext().defaultParallelism();
    Console.info("tokenize: " + split + " with " + partitions + " tasks");
    Dataset<Row> input = spark.read().parquet(new DataLayout(config.data().root()).raw(split).toString())
        .repartition(partitions);
    return input.mapPartitions(new Tokenize(tokenizerJson, sha256, config.tokenize().maxLength()),
        Encoders.row(ColaSchemas.TOKENIZED));
  }

  private static boolean sameInputs(JsonObject m, String rawSha, String tokSha, int maxLength) {
    return m.has("raw_sha256") && m.get("raw_sha256").getAsString().equals(rawSha)
        && m.has("tokenizer_sha256") && m.get("tokenizer_sha256").getAsString().equals(tokSha)
        && m.has("max_length") && m.get("max_length").getAsInt() == maxLength;
  }

  private static JsonObject perSplit(long[] values) {
    JsonObject o = new JsonObject();
    for (int i = 0; i < SPLITS.size(); i++) {
      o.addProperty(SPLITS.get(i), values[i]);
    }
    return o;
  }

  private static long[] counts(JsonObject marker, String key) {
    long[] out = new long[SPLITS.size()];
    for (int i = 0; i < SPLITS.size(); i++) {
      out[i] = marker.getAsJsonObject(key).get(SPLITS.get(i)).getAsLong();
    }
    return out;
  }

  /** Tokenizes one partition with the executor JVM's shared tokenizer. */
  private static final class Tokenize implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<byte[]> tokenizerJson;
    private final String sha256;
    private final int maxLength;

    Tokenize(Broadcast<byte[]> tokenizerJson, String sha256, int maxLength) {
      this.tokenizerJson = tokenizerJson;
      this.sha256 = sha256;
      this.maxLength = maxLength;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      BertTokenizer tokenizer = TokenizerCache.get(tokenizerJson.value(), sha256, maxLength);
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return rows.hasNext();
        }

        @Override
        public Row next() {
          Row r = rows.next();
          BertTokenizer.Encoded enc = tokenizer.encode(r.getString(r.fieldIndex("sentence")));
          // Spark's row encoder takes a Scala Seq for array columns; this wraps without copying.
          Object ids = ArraySeq.unsafeWrapArray(enc.ids());
          return RowFactory.create(
              r.getInt(r.fieldIndex("idx")),
              r.getInt(r.fieldIndex("label")),
              r.getString(r.fieldIndex("domain")),
              ids,
              enc.ids().length,
              enc.truncated());
        }
      };
    }
  }
}
