package io.textspark.evaluate;

import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.batch.Examples;
import io.textspark.checkpoint.CheckpointStore;
import io.textspark.collective.Collective;
import io.textspark.config.TextSparkConfig;
import io.textspark.data.DataLayout;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.metrics.ClassificationMetrics;
import io.textspark.metrics.MetricsByDomain;
import io.textspark.metrics.MetricsFormat;
import io.textspark.model.ModelFamilies;
import io.textspark.model.PretrainedModel;
import io.textspark.model.TextClassifier;
import java.io.PrintStream;

import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The {@code evaluate} command: validation loss, accuracy, MCC, F1 and the confusion matrix of a
 * checkpoint, overall and per domain, as a table or JSON.
 */
public final class EvaluateJob {
  private EvaluateJob() {}

  /** Evaluates the configured model on the tokenized validation split; prints and returns the metrics. */
  public static JsonObject run(SparkSession spark, TextSparkConfig config, PrintStream out) {
    Configuration conf = config.hadoop().applyTo(spark.sparkContext().hadoopConfiguration());
    String ref = config.evaluate().model();
    if (ref.isEmpty()) {
      Path checkpoints = new Path(config.train().outputDir(), "checkpoints");
      ref = new CheckpointStore(checkpoints, conf)
          .resolve("best", config.train().checkpoint().monitor(), config.train().checkpoint().mode())
          .path().toString();
    }
    DataLayout layout = new DataLayout(config.data().root());
    Path tokenized = HadoopPaths.qualify(layout.tokenized(), conf);
    JsonObject marker = StagedOutput.marker(tokenized, conf).orElseThrow(() -> new TextSparkException(
        "no tokenized data at " + tokenized + ": run `textspark download` and `textspark tokenize` first."));
    PretrainedModel model = PretrainedModel.load(ref, config.model(), conf);
    if (!marker.get("tokenizer_sha256").getAsString().equals(model.tokenizerSha256())) {
      throw new TextSparkException("the tokenized data at " + tokenized + " was made with another tokenizer than"
          + " the model " + ref + ". Re-run tokenize with that model (`textspark tokenize --overwrite --model "
          + ref + "`).");
    }
    Examples validation = Examples.fromRows(
        spark.read().parquet(layout.tokenized("validation").toString()).toLocalIterator(), "validation set");
    validation.checkLabels(model.config().numLabels(), model.config().labels());
    MetricsByDomain metrics;
    try (NDManager root = NDManager.newBaseManager();
        TextClassifier classifier = ModelFamilies.load(root, model.config(), model.weights(), 0)) {
      metrics = Evaluator.evaluate(classifier, validation, config.evaluate().batchSize(), root, Collective.single());
    }
    JsonObject json = toJson(metrics, ref, validation.size());
    if (config.evaluate().json()) {
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(json));
    } else {
      printTable(metrics, ref, out);
    }
    return json;
  }

  /** Metrics as JSON: {@code overall}, {@code in}, {@code out}, each with loss, metrics and confusion matrix. */
  public static JsonObject toJson(MetricsByDomain metrics, String model, int rows) {
    JsonObject o = new JsonObject();
    o.addProperty("model", model);
    o.addProperty("rows", rows);
    o.add("overall", part(metrics.overall(), metrics.loss().mean()));
    for (String d : metrics.domains()) {
      o.add(d, part(metrics.metrics(d), metrics.loss(d).mean()));
    }
    return o;
  }

  private static JsonObject part(ClassificationMetrics m, double loss) {
    JsonObject o = new JsonObject();
    o.addProperty("rows", m.count());
    o.addProperty("loss", loss);
    o.addProperty("accuracy", m.accuracy());
    o.addProperty("mcc", m.mcc());
    o.addProperty("f1", m.f1());
    o.addProperty("precision", m.precision());
    o.addProperty("recall", m.recall());
    o.add("confusion_matrix", MetricsFormat.confusionJson(m.confusionMatrix()));
    return o;
  }

  private static void printTable(MetricsByDomain metrics, String model, PrintStream out) {
    out.println("evaluate: " + model);
    out.printf(Locale.ROOT, "%-8s %6s %8s %9s %8s %8s   %s%n", "split", "rows", "loss", "accuracy", "mcc", "f1",
        "confusion [[tn fp] [fn tp]]");
    print(out, "overall", metrics.overall(), metrics.loss().mean());
    for (String d : metrics.domains()) {
      print(out, d, metrics.metrics(d), metrics.loss(d).mean());
    }
  }

  private static void print(PrintStream out, String name, ClassificationMetrics m, double loss) {
    long[][] cm = m.confusionMatrix();
    out.printf(Locale.ROOT, "%-8s %6d %8.4f %9.4f %8.4f %8.4f   [[%d %d] [%d %d]]%n", name, m.count(), loss,
        m.accuracy(), m.mcc(), m.f1(), cm[0][0], cm[0][1], cm[1][0], cm[1][1]);
  }

}
