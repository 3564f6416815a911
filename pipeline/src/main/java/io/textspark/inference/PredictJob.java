package io.textspark.inference;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.checkpoint.DefaultModel;
import io.textspark.config.ConfigError;
import io.textspark.config.ScoreConfig;
import io.textspark.config.TextSparkConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * The {@code predict} command: both labels' probabilities for a few sentences, in this JVM without
 * Spark, with the same tokenizer, batching and model code as {@code score}.
 */
public final class PredictJob {
  private PredictJob() {}

  /**
   * Scores {@code sentences} with the model of the {@code score} section (or the best checkpoint
   * of {@code train.output_dir}) and prints them, as a table or as JSON ({@code predict.json}).
   */
  public static List<Prediction> run(TextSparkConfig config, List<String> sentences, PrintStream out) {
    if (sentences.isEmpty()) {
      throw new ConfigError("predict needs at least one sentence, for example: textspark predict --model"
          + " runs/cola/checkpoints/epoch=3-step=804 \"The book was written by John.\"");
    }
    ScoreConfig s = config.score();
    Configuration conf = new Configuration();
    String reference = DefaultModel.reference(s.model(), config.train(), conf);
    InferenceSettings settings =
        new InferenceSettings(s.maxLength(), s.batchSize(), s.device(), s.threads(), s.engine());
    String model;
    Engine engine;
    int maxLength;
    List<String> labels;
    int scoreIndex;
    Prediction[] predictions;
    try (Predictor predictor = Predictor.load(reference, config.model(), settings, conf)) {
      model = predictor.reference();
      engine = predictor.engine();
      maxLength = predictor.maxLength();
      labels = predictor.labels();
      scoreIndex = predictor.scoreIndex(s.scoreLabel());
      predictions = predictor.predict(sentences);
    }
    if (config.predict().json()) {
      out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create()
          .toJson(toJson(model, engine, maxLength, labels, scoreIndex, sentences, predictions)));
    } else {
      printTable(model, engine, maxLength, labels, sentences, predictions, out);
    }
    return List.of(predictions);
  }

  /** The predictions as JSON: the model and engine, and per sentence the prediction and every label's probability. */
  static JsonObject toJson(String model, Engine engine, int maxLength, List<String> labels, int scoreIndex,
      List<String> sentences, Prediction[] predictions) {
    JsonObject o = new JsonObject();
    o.addProperty("model", model);
    o.addProperty("engine", engine.label());
    o.addProperty("max_length", maxLength);
    JsonArray rows = new JsonArray();
    for (int i = 0; i < predictions.length; i++) {
      rows.add(toJson(sentences.get(i), predictions[i], labels, scoreIndex));
    }
    o.add("predictions", rows);
    return o;
  }

  /**
   * One prediction as JSON, the shape {@code predict --json} and the server share: the text (left out
   * when null), then the label, its index, every label's probability, the score, whether the text was
   * truncated and its tokens, or the error when it was not scored.
   */
  public static JsonObject toJson(String text, Prediction p, List<String> labels, int scoreIndex) {
    JsonObject row = new JsonObject();
    if (text != null) {
      row.addProperty("text", text);
    }
    if (p.scored()) {
      row.addProperty("prediction", p.label());
      row.addProperty("prediction_index", p.index());
      JsonObject probabilities = new JsonObject();
      for (int j = 0; j < labels.size(); j++) {
        probabilities.addProperty(labels.get(j), p.probability(j));
      }
      row.add("probabilities", probabilities);
      row.addProperty("score", p.probability(scoreIndex));
      row.addProperty("truncated", p.truncated());
      row.addProperty("tokens", p.tokens());
    } else {
      row.addProperty("error", p.error());
    }
    return row;
  }

  private static void printTable(String model, Engine engine, int maxLength, List<String> labels,
      List<String> sentences, Prediction[] predictions, PrintStream out) {
    out.println("predict: model " + model + " (engine " + engine.label() + ", max_length " + maxLength + ")");
    int width = labels.stream().mapToInt(String::length).max().orElse(5);
    for (int i = 0; i < predictions.length; i++) {
      Prediction p = predictions[i];
      out.println((i + 1) + ". " + sentences.get(i));
      if (!p.scored()) {
        out.println("   not scored: " + p.error());
        continue;
      }
      List<Integer> order = new ArrayList<>();
      for (int j = 0; j < labels.size(); j++) {
        order.add(j);
      }
      order.sort(Comparator.comparingDouble((Integer j) -> -p.probability(j)));
      for (int j : order) {
        out.printf(Locale.ROOT, "   %-" + width + "s  %.4f%s%n", labels.get(j), p.probability(j),
            j == p.index() ? "  <- prediction" : "");
      }
      if (p.truncated()) {
        out.println("   (truncated to " + maxLength + " tokens)");
      }
    }
  }
}
