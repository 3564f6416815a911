/**
 * ONNX models written with classes generated from the published {@code onnx.proto} ({@code
 * io.textspark.onnx.proto}): a small graph builder ({@link io.textspark.onnx.OnnxGraph}), tensors
 * as little-endian raw data ({@link io.textspark.onnx.Tensors}) and dynamic int8 quantization as a
 * graph rewrite ({@link io.textspark.onnx.Int8Quantizer}). Knows nothing of models or textspark's
 * other packages; a model family builds its graph with it.
 */
package io.textspark.onnx;
