package io.textspark.inference;

import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.model.ClassifierConfig;
import io.textspark.model.ModelFamilies;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * An ONNX export folder read into memory, for {@link Engine#ONNXRUNTIME}: {@value #MODEL}, the
 * tokenizer and {@code config.json} (labels, positions, padding id), and from the export's marker
 * the maximum length the model was trained with and how its weights are stored.
 *
 * @param reference the folder
 * @param config the architecture and labels
 * @param onnx the content of {@value #MODEL}
 * @param tokenizerJson the tokenizer file's content
 * @param tokenizerSha256 its SHA-256
 * @param trainedMaxLength the {@code max_length} the marker records, 0 when the folder has no marker
 * @param quantization {@code none} or {@code int8} as the marker records, {@code none} without one
 */
public record ExportedModel(String reference, ClassifierConfig config, byte[] onnx, byte[] tokenizerJson,
    String tokenizerSha256, int trainedMaxLength, String quantization) {
  /** The ONNX model file of an export folder. */
  public static final String MODEL = "model.onnx";
  /** The {@code stage} an export's marker records. */
  public static final String STAGE = "export";

  /** Whether {@code reference} is a folder (any Hadoop file system) holding {@value #MODEL}. */
  public static boolean isExport(String reference, Configuration conf) {
    try {
      return HadoopPaths.exists(new Path(reference.trim(), MODEL), conf);
    } catch (IllegalArgumentException | TextSparkException e) {
      return false; // not a path at all (a Hub name with odd characters): not an export
    }
  }

  /** Whether the folder {@code reference} also holds PyTorch weights ({@code model.safetensors}). */
  public static boolean hasWeights(String reference, Configuration conf) {
    try {
      return HadoopPaths.exists(new Path(reference.trim(), CheckpointLayout.WEIGHTS), conf);
    } catch (IllegalArgumentException | TextSparkException e) {
      return false;
    }
  }

  /** The source checkpoint the marker of the export folder {@code reference} names, if it names one. */
  public static Optional<String> source(String reference, Configuration conf) {
    try {
      return StagedOutput.marker(new Path(reference.trim()), conf)
          .filter(m -> m.has("source")).map(m -> m.get("source").getAsString());
    } catch (IllegalArgumentException | TextSparkException e) {
      return Optional.empty();
    }
  }

  /**
   * Reads the export folder {@code reference}; fails, naming the file, when one is missing or the
   * marker says the folder is another stage's output.
   */
  public static ExportedModel read(String reference, Configuration conf) {
    Path dir = HadoopPaths.qualify(new Path(reference.trim()), conf);
    Optional<JsonObject> marker = StagedOutput.marker(dir, conf);
    if (marker.isPresent() && marker.get().has("stage")
        && !STAGE.equals(marker.get().get("stage").getAsString())) {
      throw new TextSparkException("model " + reference + " holds " + MODEL + " but its marker says it is the output"
          + " of `" + marker.get().get("stage").getAsString() + "`, not of `textspark export`. Give the folder"
          + " `textspark export --output` wrote.");
    }
    String configJson = new String(file(dir, CheckpointLayout.CONFIG, conf), StandardCharsets.UTF_8);
    ClassifierConfig config = ModelFamilies.parseConfig(configJson, reference, dir + "/" + CheckpointLayout.CONFIG);
    byte[] tokenizer = file(dir, CheckpointLayout.TOKENIZER, conf);
    byte[] onnx = file(dir, MODEL, conf);
    int maxLength = marker.map(m -> m.has("max_length") ? m.get("max_length").getAsInt() : 0).orElse(0);
    String quantization = marker.map(m -> m.has("quantization") ? m.get("quantization").getAsString() : "none")
        .orElse("none");
    return new ExportedModel(reference.trim(), config, onnx, tokenizer, Download.sha256Hex(tokenizer), maxLength,
        quantization);
  }

  private static byte[] file(Path dir, String name, Configuration conf) {
    Path p = new Path(dir, name);
    try {
      return HadoopPaths.readBytes(p, conf);
    } catch (IOException | RuntimeException e) {
      throw new TextSparkException("the export folder " + dir + " has no readable " + name + " (" + e.getMessage()
          + "). An export folder holds " + MODEL + ", " + CheckpointLayout.TOKENIZER + " and "
          + CheckpointLayout.CONFIG + "; write it again with `textspark export`.", e);
    }
  }
}
