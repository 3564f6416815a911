package io.textspark.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DownloadJob;
import io.textspark.data.TokenizeJob;
import io.textspark.testing.FileSystemServers;
import io.textspark.testing.HadoopTree;
import io.textspark.testing.KilledWriter;
import io.textspark.testing.Shared;
import io.textspark.testing.SharedSpark;
import io.textspark.testing.TinyBert;
import io.textspark.score.ScoreJob;
import io.textspark.evaluate.EvaluateJob;
import io.textspark.train.TrainJob;
import io.textspark.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every stage with its inputs, outputs and checkpoints on a real HDFS and on a real S3 server:
 * download reads the CoLA zip from there, tokenize and train read the model from there, training
 * is killed after two checkpoints, a checkpoint writer is killed mid-write, the run resumes from
 * the last committed checkpoint, and evaluate scores the best one. Nothing any stage writes or
 * prints contains the S3 secret.
 */
class StagesOnHadoopFileSystemsIT {
  @RegisterExtension static final FileSystemServers SERVERS = new FileSystemServers();

  @TempDir static Path local;
  private static String bucket;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void credentials() {
    // A bucket of its own, so that its S3A file system is first opened with the settings of the
    // configuration's hadoop section below, not with settings another test class gave.
    bucket = SERVERS.createBucket("stages");
    // Credentials reach the session as spark.hadoop.* settings from spark-defaults.conf would:
    // outside textspark's configuration, which refuses them.
    Configuration conf = SharedSpark.get().sparkContext().hadoopConfiguration();
    SERVERS.s3Credentials(bucket).forEach(conf::set);
  }

  private TextSparkConfig config(String scheme, String root, String... more) {
    List<String> all = new ArrayList<>(List.of(
        "data.url=" + root + "/mirror/cola_public.zip",
        "data.root=" + root + "/cola",
        "model.name=" + root + "/models/tiny",
        "model.cache_dir=" + local.resolve("model-cache-" + scheme),
        "tokenize.max_length=64",
        "train.output_dir=" + root + "/runs/tiny",
        "train.max_steps=4", "train.checkpoint.every_steps=2", "train.batch_size=16", "train.val_batch_size=512",
        "train.lr=1e-3", "train.threads=2", "train.log_every_steps=2",
        "train.checkpoint.monitor=val/loss", "train.checkpoint.mode=min"));
    if (scheme.equals("s3a")) {
      SERVERS.s3Settings(bucket).forEach((k, v) -> all.add("hadoop." + k + "=" + v));
    }
    all.addAll(List.of(more));
    return TextSparkConfig.load(List.of(), all);
  }

  /** What {@code run} prints on stdout (still shown), with its result. */
  private static <T> Map.Entry<T, String> console(Supplier<T> run) {
    PrintStream original = System.out;
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream tee = new PrintStream(new java.io.OutputStream() {
      @Override
      public void write(int b) {
        original.write(b);
        buffer.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        original.write(b, off, len);
        buffer.write(b, off, len);
      }
    }, true, StandardCharsets.UTF_8);
    System.setOut(tee);
    try {
      T result = run.get();
      return Map.entry(result, buffer.toString(StandardCharsets.UTF_8));
    } finally {
      tee.flush();
      System.setOut(original);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hdfs", "s3a"})
  void everyStageRunsOnTheFileSystemAndResumesPastAKilledWriter(String scheme) throws Exception {
    String root = SERVERS.root(scheme, bucket, "stages");
    TextSparkConfig cfg = config(scheme, root);
    Configuration conf = cfg.hadoop().applyTo(spark.sparkContext().hadoopConfiguration());
    org.apache.hadoop.fs.Path rootPath = new org.apache.hadoop.fs.Path(root);
    HadoopTree.upload(Shared.colaZip(), new org.apache.hadoop.fs.Path(root + "/mirror/cola_public.zip"), conf);
    HadoopTree.upload(TinyBert.writeFolder(local.resolve("tiny-" + scheme), 5),
        new org.apache.hadoop.fs.Path(root + "/models/tiny"), conf);
    List<String> printed = new ArrayList<>();

    var download = console(() -> DownloadJob.run(spark, cfg));
    printed.add(download.getValue());
    assertEquals(8551, download.getKey().train());
    assertEquals(1043, download.getKey().validation());
    assertTrue(download.getKey().output().toString().startsWith(scheme + "://"), download.getKey().output().toString());
    assertTrue(download.getValue().contains("fetching " + root + "/mirror/cola_public.zip"), download.getValue());
    assertEquals(List.of("raw"), HadoopTree.names(new org.apache.hadoop.fs.Path(root, "cola"), conf),
        "no staging folder is left beside the output");
    assertEquals(List.of("_textspark.json", "rejects", "train", "validation"),
        HadoopTree.names(new org.apache.hadoop.fs.Path(root, "cola/raw"), conf));

    var tokenize = console(() -> TokenizeJob.run(spark, cfg));
    printed.add(tokenize.getValue());
    assertArrayEquals(new long[] {8551, 1043}, tokenize.getKey().rows());
    assertEquals(List.of("raw", "tokenized"), HadoopTree.names(new org.apache.hadoop.fs.Path(root, "cola"), conf));

    // Training dies at step 3, after the checkpoint of step 2.
    Trainer.Listener crash = new Trainer.Listener() {
      @Override
      public void afterStep(long globalStep, int epoch, int position) {
        if (globalStep == 3) {
          throw new IllegalStateException("the driver died at step 3");
        }
      }
    };
    var crashed = console(() -> assertThrows(IllegalStateException.class,
        () -> TrainJob.run(spark, cfg, List.of(crash))));
    printed.add(crashed.getValue());
    assertTrue(crashed.getValue().contains("train: model " + root + "/models/tiny"), crashed.getValue());
    org.apache.hadoop.fs.Path checkpoints = new org.apache.hadoop.fs.Path(root, "runs/tiny/checkpoints");
    CheckpointStore store = new CheckpointStore(checkpoints, conf);
    assertEquals(2, store.last().orElseThrow().globalStep());

    // Then a checkpoint writer with a higher step dies between files.
    Map<String, String> childSettings = new LinkedHashMap<>(cfg.hadoop().settings());
    childSettings.put("fs.s3a.bucket." + bucket + ".aws.credentials.provider",
        "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider");
    KilledWriter.killMidWrite(store.dir().toString(), "epoch=0-step=99", 99, 3, childSettings,
        SERVERS.s3Environment(), local.resolve("killed-writer-" + scheme + ".log"));
    assertEquals(2, store.resolve("last").globalStep(), "the unfinished checkpoint is not 'last'");

    var resumed = console(() -> TrainJob.run(spark, config(scheme, root, "train.resume_from=last"), List.of()));
    printed.add(resumed.getValue());
    assertTrue(resumed.getValue().contains("train: resumed from " + store.dir() + "/epoch=0-step=2 "),
        resumed.getValue());
    Trainer.Summary summary = resumed.getKey();
    assertEquals(4, summary.globalStep());
    assertTrue(summary.bestCheckpoint().startsWith(store.dir().toString()), summary.bestCheckpoint());
    List<String> names = HadoopTree.names(checkpoints, conf);
    assertFalse(names.stream().anyMatch(n -> n.startsWith(".") || n.equals("epoch=0-step=99")),
        "the resumed writer removed the killed writer's leftovers: " + names);
    // save_top_k=1 by val/loss: step 4, the only validated checkpoint, is best and last; step 2 went
    // once step 4 was committed.
    List<Checkpoint> committed = store.list();
    assertEquals(List.of(4L), committed.stream().map(Checkpoint::globalStep).collect(Collectors.toList()));
    committed.forEach(Checkpoint::verify);

    Map<String, byte[]> run = HadoopTree.files(new org.apache.hadoop.fs.Path(root, "runs/tiny"), conf);
    assertTrue(run.containsKey("summary.json"), run.keySet().toString());
    assertTrue(run.keySet().stream().filter(f -> f.startsWith("logs/events.out.tfevents.")).count() >= 2,
        "one TensorBoard file per attempt: " + run.keySet());
    String metrics = new String(run.get("logs/metrics.jsonl"), StandardCharsets.UTF_8);
    assertTrue(metrics.contains("\"step\":2,") && metrics.contains("\"step\":4,"),
        "the resumed run appended to the crashed run's metrics: " + metrics);

    var evaluate = console(() -> EvaluateJob.run(spark, config(scheme, root, "evaluate.json=true"), System.out));
    printed.add(evaluate.getValue());
    JsonObject json = evaluate.getKey();
    assertEquals(summary.bestCheckpoint(), json.get("model").getAsString());
    assertEquals(1043, json.getAsJsonObject("overall").get("rows").getAsLong());

    // score: the raw validation table on this file system, scored with the best checkpoint into a table
    // on the same file system, committed with its marker; counts agree with the input.
    String scoredDir = root + "/scored/validation";
    var score = console(() -> ScoreJob.run(spark, config(scheme, root, "score.input=" + root + "/cola/raw/validation",
        "score.output=" + scoredDir, "score.text_col=sentence", "score.model=" + summary.bestCheckpoint()),
        System.out));
    printed.add(score.getValue());
    assertEquals(1043, score.getKey().rows());
    assertEquals(1043, score.getKey().scored());
    assertTrue(StagedOutput.marker(new org.apache.hadoop.fs.Path(scoredDir), conf).isPresent(), scoredDir);
    assertEquals(1043, spark.read().parquet(scoredDir).filter("prediction IS NOT NULL").count());

    assertNoSecrets(scheme, rootPath, conf, printed);
  }

  /** The configuration stored with checkpoints keeps the hadoop settings, and no output holds a credential. */
  private void assertNoSecrets(String scheme, org.apache.hadoop.fs.Path root, Configuration conf, List<String> printed)
      throws IOException {
    CheckpointStore store = new CheckpointStore(new org.apache.hadoop.fs.Path(root, "runs/tiny/checkpoints"), conf);
    JsonObject state;
    try (InputStream in = store.resolve("last").open(CheckpointLayout.TRAINER_STATE)) {
      state = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
    }
    JsonObject hadoop = state.getAsJsonObject("config").getAsJsonObject("hadoop");
    assertEquals(scheme.equals("s3a"), hadoop.has("fs.s3a.bucket." + bucket + ".endpoint"), hadoop.toString());

    Map<String, byte[]> files = HadoopTree.files(root, conf);
    assertTrue(files.size() > 20, files.keySet().toString());
    List<String> secrets = List.of(SERVERS.s3SecretKey(), SERVERS.s3AccessKey());
    for (String secret : secrets) {
      List<String> leaks = files.entrySet().stream()
          .filter(e -> new String(e.getValue(), StandardCharsets.ISO_8859_1).contains(secret))
          .map(Map.Entry::getKey).collect(Collectors.toList());
      assertEquals(List.of(), leaks, "files holding a credential");
      for (String out : printed) {
        assertFalse(out.contains(secret), "the console shows a credential");
      }
    }
  }
}
