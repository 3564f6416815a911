/**
 * Scoring text with a fine-tuned classifier: the Spark ML {@code Transformer}
 * ({@link io.textspark.score.TextClassifierModel}), the {@code score} job that runs it over a table,
 * and {@code predict} for a few sentences without Spark. The model is loaded once per JVM
 * ({@link io.textspark.score.ModelCache}) and rows are scored in length-sorted batches
 * ({@link io.textspark.score.BatchScorer}).
 */
package io.textspark.score;
