package io.textspark.model;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.textspark.TextSparkException;
import io.textspark.model.bert.BertFamily;
import io.textspark.model.debertav2.DebertaV2Family;
import io.textspark.model.distilbert.DistilBertFamily;
import io.textspark.model.electra.ElectraFamily;
import io.textspark.model.roberta.RobertaFamily;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The one registry of model families: it chooses a family by the {@code model_type} of a model's
 * {@code config.json} and refuses any other {@code model_type} when the model is resolved, before a
 * job reads data or writes anything. Adding a family is one line in {@link #FAMILIES}.
 */
public final class ModelFamilies {
  /** Every supported family, one line each. */
  private static final List<ModelFamily> FAMILIES = List.of(
      new BertFamily(),
      new RobertaFamily(),
      new DistilBertFamily(),
      new ElectraFamily(),
      new DebertaV2Family());

  /**
   * The {@code model_type} assumed when {@code config.json} has none: textspark has always read such
   * files (written before Hugging Face required the key) as BERT.
   */
  static final String DEFAULT_MODEL_TYPE = "bert";

  private ModelFamilies() {}

  /** Every registered family, in registry order. */
  public static List<ModelFamily> all() {
    return FAMILIES;
  }

  /** Every {@code model_type} some family reads, in registry order. */
  public static List<String> supportedModelTypes() {
    List<String> types = new ArrayList<>();
    for (ModelFamily family : FAMILIES) {
      types.addAll(family.modelTypes());
    }
    return types;
  }

  /** The canonical {@code model_type} of every family that can be exported to ONNX, in registry order. */
  public static List<String> onnxModelTypes() {
    List<String> types = new ArrayList<>();
    for (ModelFamily family : FAMILIES) {
      if (family.exportsOnnx()) {
        types.add(family.modelTypes().get(0));
      }
    }
    return types;
  }

  /** The family of {@code modelType}, if one is registered. */
  public static Optional<ModelFamily> find(String modelType) {
    for (ModelFamily family : FAMILIES) {
      if (family.modelTypes().contains(modelType)) {
        return Optional.of(family);
      }
    }
    return Optional.empty();
  }

  /**
   * The family of {@code modelType}; refuses an unsupported one naming {@code model}, the value and
   * the supported families.
   */
  public static ModelFamily forModelType(String modelType, String model) {
    return find(modelType).orElseThrow(() -> unsupported(model, modelType));
  }

  /** The family that parsed {@code config}. */
  public static ModelFamily of(ClassifierConfig config) {
    return find(config.modelType()).orElseThrow(() -> new IllegalArgumentException("no model family is registered"
        + " for model_type \"" + config.modelType() + "\" of " + config.getClass().getName()));
  }

  /**
   * Parses the {@code config.json} of {@code model} with the family its {@code model_type} names
   * ({@value #DEFAULT_MODEL_TYPE} when it names none); {@code source} names the file in errors.
   *
   * @throws TextSparkException when the file is not a JSON object, or its {@code model_type} is not
   *     supported (naming the model, the value found and the supported families)
   */
  public static ClassifierConfig parseConfig(String json, String model, String source) {
    return forModelType(modelType(json, source), model).parseConfig(json, source);
  }

  /** Builds the classifier of {@code config} with its family; see {@link ModelFamily#load}. */
  public static TextClassifier load(
      NDManager parent, ClassifierConfig config, Map<String, Safetensors.Tensor> weights, long seed) {
    return of(config).load(parent, config, weights, seed);
  }

  /** The {@code model_type} of a {@code config.json}, {@value #DEFAULT_MODEL_TYPE} when absent. */
  static String modelType(String json, String source) {
    JsonElement parsed;
    try {
      parsed = JsonParser.parseString(json);
    } catch (JsonParseException e) {
      throw new TextSparkException(
          source + " is not valid JSON (" + e.getMessage() + "); expected a Hugging Face config.json.", e);
    }
    if (!parsed.isJsonObject()) {
      throw new TextSparkException(source + " is not a JSON object; expected a Hugging Face config.json.");
    }
    JsonElement type = parsed.getAsJsonObject().get("model_type");
    if (type == null || type.isJsonNull()) {
      return DEFAULT_MODEL_TYPE;
    }
    if (!type.isJsonPrimitive() || !type.getAsJsonPrimitive().isString()) {
      throw new TextSparkException(source + ": model_type = " + type + " is not a string; allowed: one of "
          + String.join(", ", supportedModelTypes()) + ".");
    }
    return type.getAsString();
  }

  private static TextSparkException unsupported(String model, String modelType) {
    return new TextSparkException("model " + model + " has model_type \"" + modelType + "\", which textspark does"
        + " not support; supported: " + String.join(", ", supportedModelTypes()) + ". Use a model of a supported"
        + " family (for example sentence-transformers/all-MiniLM-L6-v2, a BERT), or add the family as a package"
        + " under io.textspark.model.");
  }
}
