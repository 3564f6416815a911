/**
 * The {@code export} command: a fine-tuned model as an ONNX folder ({@code model.onnx}, {@code
 * tokenizer.json}, {@code config.json} and a marker), fp32 or int8, written atomically on any
 * Hadoop file system ({@link io.textspark.export.OnnxExport}, {@link io.textspark.export.ExportJob}).
 */
package io.textspark.export;
