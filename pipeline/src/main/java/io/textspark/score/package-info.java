/**
 * Scoring tables with a fine-tuned classifier on Spark: the Spark ML {@code Transformer}
 * ({@link io.textspark.score.TextClassifierModel}) and the {@code score} job that runs it over a
 * table. The model itself runs through {@code io.textspark.inference}.
 */
package io.textspark.score;
