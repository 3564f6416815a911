package io.textspark.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * A family's {@code config.json} kept whole: the file's keys as read (so a saved checkpoint
 * carries every architecture key of the family, known to textspark or not) plus its labels, with
 * typed accessors for the keys a family reads. Families other than BERT use it as their {@link
 * ClassifierConfig}; each validates the keys it uses when it parses the file.
 */
public final class HfConfig implements ClassifierConfig {
  /** Keys {@link #toJson()} writes itself: read from the file, they would make a reloaded config differ. */
  private static final List<String> WRITTEN_KEYS =
      List.of("id2label", "label2id", "num_labels", "architectures", "problem_type");

  /**
   * What differs between families in the generic keys.
   *
   * @param modelType the canonical {@code model_type}
   * @param architecture the Hugging Face sequence classification class, e.g. {@code RobertaForSequenceClassification}
   * @param dropoutKeys every dropout probability key {@code train.dropout} overrides
   * @param layersKey the key of the number of layers, for {@link #describe()}
   * @param hiddenKey the key of the hidden size, for {@link #describe()}
   * @param maxPositionsDefault {@code max_position_embeddings} when absent
   * @param padDefault {@code pad_token_id} when absent
   * @param positionsAfterPad whether positions start after {@code pad_token_id} (RoBERTa), so that
   *     {@code pad_token_id + 1} position rows are not usable by tokens
   */
  public record Spec(String modelType, String architecture, List<String> dropoutKeys, String layersKey,
      String hiddenKey, int maxPositionsDefault, int padDefault, boolean positionsAfterPad) {}

  private final Spec spec;
  private final JsonObject json;
  private final List<String> labels;
  private final String source;

  private HfConfig(Spec spec, JsonObject json, List<String> labels, String source) {
    if (labels == null || labels.isEmpty()) {
      throw new TextSparkException(source + ": id2label is empty; allowed: at least one label, for example"
          + " {\"0\": \"no\", \"1\": \"yes\"}.");
    }
    if (new HashSet<>(labels).size() != labels.size()) {
      throw new TextSparkException(
          source + ": id2label = " + labels + " repeats a label; allowed: distinct label names.");
    }
    this.spec = spec;
    this.json = json;
    this.labels = List.copyOf(labels);
    this.source = source;
  }

  /** Reads a {@code config.json} of the family {@code spec} describes; {@code source} names it in errors. */
  public static HfConfig parse(Spec spec, String text, String source) {
    JsonObject o = ConfigJson.object(text, source);
    String type = ConfigJson.string(o, "model_type", spec.modelType(), source);
    if (!spec.modelType().equals(type)) {
      throw new TextSparkException(source + ": model_type = \"" + type + "\" is not read by the " + spec.modelType()
          + " family; allowed: \"" + spec.modelType() + "\".");
    }
    List<String> labels = ConfigJson.labels(o, source);
    JsonObject kept = o.deepCopy();
    WRITTEN_KEYS.forEach(kept::remove);
    return new HfConfig(spec, kept, labels, source);
  }

  /**
   * {@code config} as the {@code HfConfig} of family {@code spec}; refuses a config another family
   * parsed, which would be a programming error (the registry chooses the family by {@code model_type}).
   */
  public static HfConfig of(ClassifierConfig config, Spec spec) {
    if (!(config instanceof HfConfig c) || !c.spec.equals(spec)) {
      throw new IllegalArgumentException("the " + spec.modelType() + " family cannot build a model of model_type \""
          + config.modelType() + "\".");
    }
    return c;
  }

  /** The family's generic description. */
  public Spec spec() {
    return spec;
  }

  /** The file name errors mention. */
  public String source() {
    return source;
  }

  /** {@code key} as a whole number, or {@code fallback} when absent. */
  public int integer(String key, int fallback) {
    return ConfigJson.integer(json, key, fallback, source);
  }

  /** {@code key} as a number, or {@code fallback} when absent. */
  public double number(String key, double fallback) {
    return ConfigJson.number(json, key, fallback, source);
  }

  /** {@code key} as a string, or {@code fallback} when absent. */
  public String string(String key, String fallback) {
    return ConfigJson.string(json, key, fallback, source);
  }

  /** {@code key} as a boolean, or {@code fallback} when absent. */
  public boolean bool(String key, boolean fallback) {
    return ConfigJson.bool(json, key, fallback, source);
  }

  /** Whether the file sets {@code key} to something other than null. */
  public boolean has(String key) {
    return json.has(key) && !json.get(key).isJsonNull();
  }

  /** The raw value of {@code key}, or null; a copy, so this config stays unchanged. */
  public JsonElement raw(String key) {
    return has(key) ? json.get(key).deepCopy() : null;
  }

  @Override
  public String modelType() {
    return spec.modelType();
  }

  @Override
  public List<String> labels() {
    return labels;
  }

  /** The longest sequence in tokens: {@code max_position_embeddings}, less the rows up to the pad id where positions start after it. */
  @Override
  public int maxPositionEmbeddings() {
    int rows = integer("max_position_embeddings", spec.maxPositionsDefault());
    return spec.positionsAfterPad() ? rows - padTokenId() - 1 : rows;
  }

  @Override
  public int padTokenId() {
    return integer("pad_token_id", spec.padDefault());
  }

  @Override
  public HfConfig withLabels(List<String> newLabels) {
    return new HfConfig(spec, json, newLabels, source);
  }

  /** Sets every key of {@link Spec#dropoutKeys()} to {@code dropout}; a negative value changes nothing. */
  @Override
  public HfConfig withDropout(double dropout) {
    if (dropout < 0) {
      return this;
    }
    JsonObject changed = json.deepCopy();
    spec.dropoutKeys().forEach(k -> changed.addProperty(k, dropout));
    return new HfConfig(spec, changed, labels, source);
  }

  /** The file's keys with {@code architectures}, {@code model_type}, {@code num_labels}, {@code id2label} and {@code label2id}. */
  @Override
  public String toJson() {
    JsonObject o = json.deepCopy();
    JsonArray architectures = new JsonArray();
    architectures.add(spec.architecture());
    o.add("architectures", architectures);
    o.addProperty("model_type", spec.modelType());
    o.addProperty("num_labels", labels.size());
    JsonObject id2label = new JsonObject();
    JsonObject label2id = new JsonObject();
    for (int i = 0; i < labels.size(); i++) {
      id2label.addProperty(Integer.toString(i), labels.get(i));
      label2id.addProperty(labels.get(i), i);
    }
    o.add("id2label", id2label);
    o.add("label2id", label2id);
    o.addProperty("problem_type", "single_label_classification");
    return new GsonBuilder().setPrettyPrinting().create().toJson(o) + "\n";
  }

  @Override
  public String describe() {
    return integer(spec.layersKey(), 0) + " layers, hidden " + integer(spec.hiddenKey(), 0);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof HfConfig c && spec.equals(c.spec) && json.equals(c.json) && labels.equals(c.labels);
  }

  @Override
  public int hashCode() {
    return Objects.hash(spec, json, labels);
  }

  @Override
  public String toString() {
    return spec.modelType() + " config " + json + " labels " + labels;
  }
}
