package io.textspark.serve;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import io.textspark.config.ServeConfig;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the body of {@code POST /v1/classify} ({@code {"texts": [...]}} or {@code {"text": "..."}})
 * into its texts, checking the limits of {@link ServeConfig}; anything else is an {@link ApiError}
 * naming the problem.
 */
final class ClassifyRequest {
  private static final String SHAPE = "send {\"texts\": [\"first text\", ...]} or {\"text\": \"one text\"}";

  private ClassifyRequest() {}

  /** The texts of {@code body}, or an {@link ApiError} (400 malformed, 413 over a limit). */
  static List<String> parse(String body, ServeConfig limits) {
    JsonElement root;
    try (JsonReader reader = new JsonReader(new StringReader(body))) {
      reader.setStrictness(Strictness.STRICT);
      root = JsonParser.parseReader(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw new ApiError(400, "malformed JSON: more follows the first value; " + SHAPE);
      }
    } catch (JsonParseException | IOException | IllegalStateException e) {
      throw new ApiError(400, "malformed JSON: " + rootMessage(e) + "; " + SHAPE);
    }
    if (!root.isJsonObject()) {
      throw new ApiError(400, "the body is a JSON " + kind(root) + ", not an object; " + SHAPE);
    }
    JsonObject o = root.getAsJsonObject();
    boolean many = o.has("texts");
    boolean one = o.has("text");
    if (many == one) {
      throw new ApiError(400, (many ? "both \"texts\" and \"text\" are given" : "the field \"texts\" is missing")
          + "; " + SHAPE);
    }
    List<String> texts = new ArrayList<>();
    if (one) {
      texts.add(string(o.get("text"), "\"text\"", limits));
      return texts;
    }
    JsonElement array = o.get("texts");
    if (!array.isJsonArray()) {
      throw new ApiError(400, "\"texts\" is a JSON " + kind(array) + ", not an array of strings; " + SHAPE);
    }
    int n = array.getAsJsonArray().size();
    if (n == 0) {
      throw new ApiError(400, "\"texts\" is empty; send at least one text");
    }
    if (n > limits.maxTexts()) {
      throw new ApiError(413, "too many texts: " + n + " in one request, at most " + limits.maxTexts()
          + " are allowed (serve.max_texts); split the request", "serve.max_texts", limits.maxTexts());
    }
    for (int i = 0; i < n; i++) {
      texts.add(string(array.getAsJsonArray().get(i), "texts[" + i + "]", limits));
    }
    return texts;
  }

  private static String string(JsonElement e, String where, ServeConfig limits) {
    if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
      throw new ApiError(400, where + " is a JSON " + kind(e) + "; every text must be a string");
    }
    String text = e.getAsString();
    if (text.length() > limits.maxChars()) {
      throw new ApiError(413, where + " has " + text.length() + " characters, at most " + limits.maxChars()
          + " are allowed (serve.max_chars); shorten it", "serve.max_chars", limits.maxChars());
    }
    return text;
  }

  private static String kind(JsonElement e) {
    if (e.isJsonNull()) {
      return "null";
    }
    if (e.isJsonArray()) {
      return "array";
    }
    if (e.isJsonObject()) {
      return "object";
    }
    JsonPrimitive p = e.getAsJsonPrimitive();
    return p.isBoolean() ? "boolean" : p.isNumber() ? "number" : "string";
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
