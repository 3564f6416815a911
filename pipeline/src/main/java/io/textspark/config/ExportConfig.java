package io.textspark.config;

/**
 * Settings of the {@code export} command (a model as an ONNX folder); every default is in
 * {@code conf/textspark.conf}.
 *
 * @param model checkpoint folder, model folder or Hub name; empty (default) means the best
 *     checkpoint of {@code train.output_dir}
 * @param output folder the export is written to, on any Hadoop file system; default empty
 *     (required)
 * @param quantize {@code none} (fp32 weights) or {@code int8}; default {@code none}
 * @param reduceRange with {@code int8}, 7-bit MatMul weights, exact on x86 CPUs without VNNI;
 *     default false
 * @param int8Activations with {@code int8}, activation scales {@code per-token} (default, more
 *     accurate) or {@code per-tensor} (ONNX Runtime's fused DynamicQuantizeMatMul)
 * @param overwrite replace an existing output folder; default false
 * @param verify run the export in ONNX Runtime on a few sentences and compare its logits with
 *     textspark's before committing it; default true
 */
public record ExportConfig(
    String model, String output, String quantize, boolean reduceRange, String int8Activations, boolean overwrite,
    boolean verify) {

  /** Reads and validates the {@code export} section. */
  public static ExportConfig from(Settings s) {
    return new ExportConfig(
        s.string("model").trim(),
        s.string("output").trim(),
        s.oneOf("quantize", "none", "int8"),
        s.bool("reduce_range"),
        s.oneOf("int8_activations", "per-token", "per-tensor"),
        s.bool("overwrite"),
        s.bool("verify"));
  }
}
