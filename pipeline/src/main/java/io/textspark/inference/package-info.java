/**
 * Running a fine-tuned classifier on text: the one entry point that {@code predict}, {@code score}
 * and the server use ({@link io.textspark.inference.Predictor}). {@link
 * io.textspark.inference.ResolvedModel} decides the {@link io.textspark.inference.Engine}: a
 * checkpoint runs on PyTorch ({@link io.textspark.inference.ScoringModel}), an ONNX export folder on
 * ONNX Runtime ({@link io.textspark.inference.OnnxScoringModel}). The model is loaded once per JVM
 * ({@link io.textspark.inference.ModelCache}) and texts are scored in length-sorted batches
 * ({@link io.textspark.inference.BatchScorer}).
 */
package io.textspark.inference;
