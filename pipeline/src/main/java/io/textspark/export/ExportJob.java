package io.textspark.export;

import io.textspark.TextSparkException;
import io.textspark.checkpoint.Checkpoint;
import io.textspark.checkpoint.CheckpointLayout;
import io.textspark.checkpoint.DefaultModel;
import io.textspark.config.ConfigError;
import io.textspark.config.ExportConfig;
import io.textspark.config.ModelConfig;
import io.textspark.config.TextSparkConfig;
import io.textspark.fs.Download;
import io.textspark.fs.HadoopPaths;
import io.textspark.inference.ResolvedModel;
import io.textspark.model.ModelFiles;
import io.textspark.onnx.Int8Quantizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The {@code export} command: resolves the model as {@code predict} does (a committed checkpoint, a
 * model folder or a Hub name, with a trained head), and writes it as an ONNX folder with {@link
 * OnnxExport}. Needs no Spark. Everything is checked before anything is written: the output (exists
 * without {@code --overwrite}), the model (uncommitted checkpoint, no trained head, a family that
 * cannot be exported) and the graph itself (run in ONNX Runtime against textspark's model).
 */
public final class ExportJob {
  private ExportJob() {}

  /** Runs the command with the {@code export} section of {@code config}; prints a summary to {@code out}. */
  public static OnnxExport.Report run(TextSparkConfig config, PrintStream out) {
    ExportConfig e = config.export();
    if (e.output().isEmpty()) {
      throw new ConfigError("export.output", "", "give the folder to write with --output");
    }
    Configuration conf = config.hadoop().applyTo(new Configuration());
    Path target = HadoopPaths.qualify(new Path(e.output()), conf);
    OnnxExport.Options options = new OnnxExport.Options(OnnxExport.Quantization.parse(e.quantize(), "export.quantize"),
        e.reduceRange(), Int8Quantizer.Activations.parse(e.int8Activations(), "export.int8_activations"), e.overwrite(),
        e.verify());
    String reference = DefaultModel.reference(e.model(), config.train(), conf);
    long started = System.nanoTime();
    OnnxExport.Report report = export(reference, config.model(), target, options, conf);
    double seconds = (System.nanoTime() - started) / 1e9;
    print(report, options, seconds, out);
    return report;
  }

  /**
   * Exports {@code reference} (checkpoint folder on any Hadoop file system, model folder or Hub name,
   * found with {@code hub}'s endpoint, revision and cache) into {@code target}: the programmatic form
   * of the command.
   *
   * @throws TextSparkException naming the fix when the output exists without {@code overwrite}, the
   *     checkpoint is not committed, the model has no trained head or its family cannot be exported;
   *     nothing is written then
   */
  public static OnnxExport.Report export(String reference, ModelConfig hub, Path target, OnnxExport.Options options,
      Configuration conf) {
    Path qualified = HadoopPaths.qualify(target, conf);
    if (HadoopPaths.exists(qualified, conf) && !options.overwrite()) {
      throw new TextSparkException("the output " + qualified + " already exists. Pass --overwrite"
          + " (export.overwrite=true) to replace it, or choose another --output.");
    }
    ResolvedModel model = ResolvedModel.resolve(reference, hub, 0, conf);
    return OnnxExport.write(model, weightsSha256(model.reference(), hub, conf), qualified, options, conf);
  }

  /**
   * The SHA-256 of the source's {@code model.safetensors}: from a checkpoint's manifest (verified when
   * the weights were read), else computed from the file.
   */
  static String weightsSha256(String reference, ModelConfig hub, Configuration conf) {
    Optional<Checkpoint> checkpoint;
    try {
      checkpoint = Checkpoint.read(new Path(reference), conf);
    } catch (IllegalArgumentException | TextSparkException e) {
      checkpoint = Optional.empty();
    }
    if (checkpoint.isPresent()) {
      for (Checkpoint.FileEntry f : checkpoint.get().files()) {
        if (f.name().equals(CheckpointLayout.WEIGHTS)) {
          return f.sha256();
        }
      }
    }
    java.nio.file.Path weights = ModelFiles.resolve(reference, hub, conf).local(CheckpointLayout.WEIGHTS);
    MessageDigest digest = Download.sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(weights), digest)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    } catch (IOException ex) {
      throw new TextSparkException("cannot read " + weights + ": " + ex.getMessage(), ex);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static void print(OnnxExport.Report r, OnnxExport.Options options, double seconds, PrintStream out) {
    out.printf(Locale.ROOT, "export: wrote %s (%s, opset %d) from %s in %.1f s%n", r.output(),
        options.quantization() == OnnxExport.Quantization.INT8
            ? "int8, " + options.activations().label() + " activations" + (options.reduceRange() ? ", 7-bit weights" : "")
            : "fp32",
        r.marker().get("opset").getAsInt(), r.marker().get("source").getAsString(), seconds);
    if (options.quantization() == OnnxExport.Quantization.INT8) {
      out.printf(Locale.ROOT, "export: %s %s, %.1f%% of the fp32 graph's %s%n", OnnxExport.MODEL,
          Download.human(r.modelBytes()), 100.0 * r.modelBytes() / r.fp32Bytes(), Download.human(r.fp32Bytes()));
    } else {
      out.printf(Locale.ROOT, "export: %s %s%n", OnnxExport.MODEL, Download.human(r.modelBytes()));
    }
    if (r.fp32Check() != null) {
      out.printf(Locale.ROOT, "export: verified in ONNX Runtime on %d sentences: fp32 logits within %.1e of"
          + " textspark's%n", r.fp32Check().sentences(), r.fp32Check().maxAbsDiff());
    }
    if (r.int8Check() != null) {
      out.printf(Locale.ROOT, "export: int8 logits within %.3f of textspark's fp32 ones, same prediction on %d of %d"
          + " sentences%n", r.int8Check().maxAbsDiff(), r.int8Check().sameArgmax(), r.int8Check().sentences());
    }
  }
}
