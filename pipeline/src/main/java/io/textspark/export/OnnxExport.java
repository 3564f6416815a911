package io.textspark.export;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.textspark.TextSparkException;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import io.textspark.fs.StagedOutput;
import io.textspark.inference.ResolvedModel;
import io.textspark.model.ModelFamilies;
import io.textspark.model.PretrainedModel;
import io.textspark.onnx.Int8Quantizer;
import io.textspark.onnx.OnnxGraph;
import io.textspark.onnx.proto.Onnx;
import io.textspark.onnx.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a fine-tuned model as an ONNX folder: {@value #MODEL} (the family's graph, optionally
 * int8-quantized), {@value #TOKENIZER}, {@value #CONFIG} (with {@code id2label}) and, last, the
 * marker {@link StagedOutput#MARKER} that says the export is complete and where it came from. The
 * folder is staged and renamed into place, so it appears whole or not at all, on any Hadoop file
 * system.
 */
public final class OnnxExport {
  /** The ONNX model file of an export folder. */
  public static final String MODEL = "model.onnx";
  /** The tokenizer the model was trained with. */
  public static final String TOKENIZER = CheckpointLayout.TOKENIZER;
  /** The Hugging Face config, with {@code id2label}. */
  public static final String CONFIG = CheckpointLayout.CONFIG;
  /** The {@code stage} the marker of an export folder records. */
  public static final String STAGE = "export";
  /** The version of the export folder layout the marker records. */
  public static final int FORMAT = 1;

  /** How the weights are stored. */
  public enum Quantization {
    /** fp32 weights, as trained. */
    NONE,
    /** Dynamic int8: MatMul/Gemm weights per output channel, embedding tables per row. */
    INT8;

    /** Parses {@code none} or {@code int8} (any case); {@code key} names the setting in errors. */
    public static Quantization parse(String value, String key) {
      return switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "none", "" -> NONE;
        case "int8" -> INT8;
        default -> throw new TextSparkException(key + " = \"" + value + "\" is not supported; allowed: none, int8.");
      };
    }

    /** The setting's value, {@code none} or {@code int8}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * How to export.
   *
   * @param quantization fp32 or int8 weights
   * @param reduceRange with int8, quantize weights to 7 bits (-64..63), so that u8 x s8 products
   *     cannot saturate on x86 CPUs without VNNI (AVX2, AVX-512 before Cascade Lake)
   * @param activations with int8, one activation scale per token or one per tensor
   * @param overwrite replace an existing output folder
   * @param verify before writing, run the graph in ONNX Runtime on {@link ExportCheck#SENTENCES}
   *     and refuse an fp32 graph whose logits differ from textspark's by more than {@value
   *     #VERIFY_TOLERANCE}
   */
  public record Options(Quantization quantization, boolean reduceRange, Int8Quantizer.Activations activations,
      boolean overwrite, boolean verify) {
    /** fp32, not overwriting, verified. */
    public static Options fp32() {
      return new Options(Quantization.NONE, false, Int8Quantizer.Activations.PER_TOKEN, false, true);
    }

    /** int8 with 8-bit weights and per-token activation scales, not overwriting, verified. */
    public static Options int8() {
      return new Options(Quantization.INT8, false, Int8Quantizer.Activations.PER_TOKEN, false, true);
    }

    /** These options, replacing an existing output when {@code overwrite}. */
    public Options withOverwrite(boolean overwrite) {
      return new Options(quantization, reduceRange, activations, overwrite, verify);
    }
  }

  /**
   * What an export wrote.
   *
   * @param output the committed folder
   * @param modelBytes size of {@value #MODEL}
   * @param fp32Bytes size the fp32 {@value #MODEL} has (equal to {@code modelBytes} without
   *     quantization)
   * @param modelSha256 SHA-256 of {@value #MODEL}
   * @param fp32Check the fp32 graph against textspark's model, or null when not verified
   * @param int8Check the int8 graph against textspark's model, or null when not int8 or not verified
   * @param marker the marker's content
   */
  public record Report(Path output, long modelBytes, long fp32Bytes, String modelSha256, ExportCheck.Result fp32Check,
      ExportCheck.Result int8Check, JsonObject marker) {}

  /** The largest difference of one logit allowed between the fp32 graph and textspark's model. */
  public static final double VERIFY_TOLERANCE = 1e-3;

  private OnnxExport() {}

  /**
   * The fp32 ONNX model of {@code model}: the family's graph ({@link
   * io.textspark.model.ModelFamily#onnxGraph}), opset {@value OnnxGraph#OPSET}, with the source and
   * labels in its metadata.
   *
   * @throws TextSparkException when the model's family cannot be exported, naming those that can
   */
  public static Onnx.ModelProto model(PretrainedModel model) {
    return wrap(ModelFamilies.of(model.config()).onnxGraph(model.config(), model.weights()), model, Quantization.NONE);
  }

  /** {@code fp32} (a model of {@link #model(PretrainedModel)}) with int8 weights; see {@link Int8Quantizer}. */
  public static Onnx.ModelProto quantize(Onnx.ModelProto fp32, PretrainedModel model, Int8Quantizer.Options options) {
    return wrap(Int8Quantizer.quantize(fp32.getGraph(), options), model, Quantization.INT8);
  }

  private static Onnx.ModelProto wrap(Onnx.GraphProto graph, PretrainedModel model, Quantization quantization) {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("source", model.reference());
    metadata.put("model_type", model.config().modelType());
    metadata.put("labels", String.join(",", model.config().labels()));
    metadata.put("quantization", quantization.label());
    return new OnnxGraph(graph).model(version(), metadata);
  }

  /**
   * Exports {@code model} into the folder {@code target} (any Hadoop file system). {@code
   * sourceSha256} is recorded in the marker as the checksum of the source weights.
   *
   * @throws TextSparkException when {@code target} exists and {@code options.overwrite()} is false,
   *     when the family cannot be exported, or when writing fails; nothing is left at {@code target}
   */
  public static Report write(ResolvedModel model, String sourceSha256, Path target, Options options,
      Configuration conf) {
    Path qualified = HadoopPaths.qualify(target, conf);
    if (HadoopPaths.exists(qualified, conf) && !options.overwrite()) {
      throw new TextSparkException("the output " + qualified + " already exists. Pass --overwrite"
          + " (export.overwrite=true) to replace it, or choose another --output.");
    }
    PretrainedModel pretrained = model.model();
    // Built and checked before anything is written: an unsupported family, a bad tensor or a graph
    // that does not compute what the model computes leaves no trace.
    Onnx.ModelProto fp32 = model(pretrained);
    Onnx.ModelProto onnx = fp32;
    ExportCheck.Result fp32Check = null;
    ExportCheck.Result int8Check = null;
    if (options.quantization() == Quantization.INT8) {
      onnx = quantize(fp32, pretrained, new Int8Quantizer.Options(options.reduceRange(), options.activations()));
    }
    if (options.verify()) {
      try (ExportCheck check = ExportCheck.of(pretrained, model.maxLength())) {
        fp32Check = check.compare(fp32.toByteArray());
        if (!(fp32Check.maxAbsDiff() <= VERIFY_TOLERANCE)) {
          throw new TextSparkException("the ONNX graph of " + model.reference() + " does not reproduce textspark's"
              + " logits: they differ by up to " + fp32Check.maxAbsDiff() + " (allowed " + VERIFY_TOLERANCE
              + ") on " + fp32Check.sentences() + " sentences. Nothing was written; this is a bug in the export of"
              + " model_type " + pretrained.config().modelType() + ", please report it.");
        }
        if (onnx != fp32) {
          int8Check = check.compare(onnx.toByteArray());
        }
      }
    }
    long fp32Bytes = fp32.getSerializedSize();
    try (StagedOutput out = StagedOutput.begin(qualified, conf)) {
      FileSystem fs = HadoopPaths.fs(out.staging(), conf);
      MessageDigest digest = Download.sha256();
      long bytes;
      try (OutputStream file = fs.create(new Path(out.staging(), MODEL), false);
          DigestOutputStream hashed = new DigestOutputStream(file, digest)) {
        onnx.writeTo(hashed);
        bytes = onnx.getSerializedSize();
      }
      String modelSha = HexFormat.of().formatHex(digest.digest());
      writeBytes(fs, new Path(out.staging(), TOKENIZER), pretrained.tokenizerJson());
      writeBytes(fs, new Path(out.staging(), CONFIG),
          pretrained.config().toJson().getBytes(StandardCharsets.UTF_8));
      JsonObject marker = marker(model, sourceSha256, options, onnx, bytes, modelSha);
      out.commit(marker);
      return new Report(out.target(), bytes, fp32Bytes, modelSha, fp32Check, int8Check, marker);
    } catch (IOException e) {
      throw new TextSparkException("cannot write the export to " + qualified + ": " + e.getMessage()
          + ". Nothing was written; check the location and try again.", e);
    }
  }

  private static JsonObject marker(ResolvedModel model, String sourceSha256, Options options,
      Onnx.ModelProto onnx, long bytes, String modelSha) {
    JsonObject m = new JsonObject();
    m.addProperty("stage", STAGE);
    m.addProperty("format", FORMAT);
    m.addProperty("source", model.reference());
    m.addProperty("source_weights_sha256", sourceSha256);
    m.addProperty("tokenizer_sha256", model.model().tokenizerSha256());
    m.addProperty("model_type", model.model().config().modelType());
    JsonArray labels = new JsonArray();
    model.labels().forEach(labels::add);
    m.add("labels", labels);
    m.addProperty("max_length", model.maxLength());
    m.addProperty("opset", OnnxGraph.OPSET);
    m.addProperty("ir_version", onnx.getIrVersion());
    m.addProperty("quantization", options.quantization().label());
    if (options.quantization() == Quantization.INT8) {
      m.addProperty("weight_bits", options.reduceRange() ? 7 : 8);
      m.addProperty("activation_scales", options.activations().label());
    }
    JsonArray inputs = new JsonArray();
    for (ValueInfoProto v : onnx.getGraph().getInputList()) {
      inputs.add(v.getName());
    }
    m.add("inputs", inputs);
    JsonArray outputs = new JsonArray();
    for (ValueInfoProto v : onnx.getGraph().getOutputList()) {
      outputs.add(v.getName());
    }
    m.add("outputs", outputs);
    m.addProperty("model_bytes", bytes);
    m.addProperty("model_sha256", modelSha);
    m.addProperty("textspark_version", version());
    m.addProperty("created", Instant.now().toString());
    return m;
  }

  private static void writeBytes(FileSystem fs, Path path, byte[] content) throws IOException {
    try (OutputStream out = fs.create(path, false)) {
      out.write(content);
    }
  }

  /** The textspark version from the jar's manifest, or {@code dev} when run from classes. */
  static String version() {
    String v = OnnxExport.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
