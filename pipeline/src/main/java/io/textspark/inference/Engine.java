package io.textspark.inference;

import io.textspark.TextSparkException;
import java.util.List;
import java.util.Locale;

/**
 * What runs the model: textspark's PyTorch model on the checkpoint's weights, or ONNX Runtime on
 * the {@code model.onnx} of an export folder ({@code textspark export}); {@link #AUTO} takes ONNX
 * Runtime when the model folder holds a {@code model.onnx}, else PyTorch.
 */
public enum Engine {
  /** ONNX Runtime for an export folder, PyTorch for anything else. */
  AUTO,
  /** textspark's model in PyTorch (DJL), from {@code model.safetensors}. */
  PYTORCH,
  /** ONNX Runtime on the CPU, from {@code model.onnx}. */
  ONNXRUNTIME;

  /** The setting's allowed values, as written in configuration. */
  public static final List<String> NAMES = List.of("auto", "pytorch", "onnxruntime");

  /** Parses {@code auto}, {@code pytorch} or {@code onnxruntime} (any case); {@code key} names the setting in errors. */
  public static Engine parse(String value, String key) {
    String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "auto" -> AUTO;
      case "pytorch" -> PYTORCH;
      case "onnxruntime" -> ONNXRUNTIME;
      default -> throw new TextSparkException(key + " = \"" + value + "\" is not an engine; use one of " + NAMES
          + " (auto runs an export folder's model.onnx on ONNX Runtime and anything else on PyTorch).");
    };
  }

  /** The setting's value: {@code auto}, {@code pytorch} or {@code onnxruntime}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
