/**
 * Tokenized examples and how they are cut into batches: deterministic length-bucketed plans and
 * dynamically padded batches, shared by training, evaluation, scoring and the benchmarks.
 */
package io.textspark.batch;
